package auth

import (
	"testing"
)

// TestClaimsClient: the client of a token for revocation rules is azp, else
// client_id, else consumerKey, else application.id (string or number).
func TestClaimsClient(t *testing.T) {
	for _, tc := range []struct {
		payload, want string
	}{
		{`{"azp":"a","client_id":"b","consumerKey":"c","application":{"id":"d"}}`, "a"},
		{`{"client_id":"b","consumerKey":"c","application":{"id":"d"}}`, "b"},
		{`{"azp":"","consumerKey":"c","application":{"id":"d"}}`, "c"},
		{`{"application":{"id":"d"}}`, "d"},
		{`{"application":{"id":12}}`, "12"},
		{`{"application":{"name":"x"}}`, ""},
		{`{"azp":7}`, ""},
		{`{}`, ""},
	} {
		m, err := decodeObject([]byte(tc.payload))
		if err != nil {
			t.Fatal(err)
		}
		c, aerr := parseClaims(m)
		if aerr != nil {
			t.Fatalf("%s: %v", tc.payload, aerr)
		}
		if c.Client != tc.want {
			t.Errorf("%s: Client = %q, want %q", tc.payload, c.Client, tc.want)
		}
	}
}

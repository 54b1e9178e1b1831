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

// TestClaimsApplication: the application of throttling and blocking is application.id, else
// azp, else client_id (never consumerKey); its tier is application.tier; a subscription's tier is
// the subscriptionTier of the API's subscribedAPIs entry.
func TestClaimsApplication(t *testing.T) {
	for _, tc := range []struct {
		payload, app, tier string
	}{
		{`{"azp":"a","client_id":"b","application":{"id":"d","tier":"50PerMin"}}`, "d", "50PerMin"},
		{`{"azp":"a","client_id":"b","application":{"id":12}}`, "12", ""},
		{`{"azp":"a","client_id":"b"}`, "a", ""},
		{`{"azp":"","client_id":"b","consumerKey":"c"}`, "b", ""},
		{`{"consumerKey":"c","application":{"tier":7}}`, "", ""},
	} {
		m, err := decodeObject([]byte(tc.payload))
		if err != nil {
			t.Fatal(err)
		}
		c, aerr := parseClaims(m)
		if aerr != nil {
			t.Fatalf("%s: %v", tc.payload, aerr)
		}
		if c.Application != tc.app || c.ApplicationTier != tc.tier {
			t.Errorf("%s: Application %q tier %q, want %q %q", tc.payload, c.Application, c.ApplicationTier, tc.app, tc.tier)
		}
	}
	m, _ := decodeObject([]byte(`{"subscribedAPIs":[{"name":"Pets","version":"1","subscriptionTier":"Gold"},{"name":"Pets","version":"2","subscriptionTier":"Bronze"}]}`))
	c, _ := parseClaims(m)
	if s := c.Subscription("Pets", "2"); s == nil || s.SubscriptionTier != "Bronze" {
		t.Errorf("Subscription(Pets, 2) = %+v", s)
	}
	if s := c.Subscription("Pets", ""); s == nil || s.SubscriptionTier != "Gold" {
		t.Errorf("Subscription(Pets, any) = %+v", s)
	}
	if s := c.Subscription("Orders", "1"); s != nil {
		t.Errorf("Subscription(Orders) = %+v", s)
	}
}

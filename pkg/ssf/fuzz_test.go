package ssf

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// FuzzReadSET: the claims of a SET (JSON from a transmitter) are refused
// with ErrInvalidSET or read into one event with a time; the subject maps
// to a rule ValidateRuleNotice accepts, or to none with a reason.
func FuzzReadSET(f *testing.F) {
	f.Add(`{"iss":"https://idp.example.com/123456789/","jti":"24c63fb56e5a2d77a6b512616ca9fa24","iat":1615305159,"aud":"https://sp.example.com/caep","txn":"8675309","sub_id":{"format":"opaque","id":"dMTlD|1600802906337.16|16008.16"},"events":{"https://schemas.openid.net/secevent/caep/event-type/session-revoked":{"event_timestamp":1615304991}}}`)
	f.Add(`{"jti":"j","iat":1,"sub_id":{"format":"complex","user":{"format":"iss_sub","iss":"https://localhost:9443/oauth2/token","sub":"alice"}},"events":{"x":{"event_timestamp":1615304991643}}}`)
	f.Add(`{"jti":"j","iat":1,"events":{"x":{"subject":{"format":"email","email":"a@b"}}}}`)
	f.Fuzz(func(t *testing.T, js string) {
		d := json.NewDecoder(bytes.NewReader([]byte(js)))
		d.UseNumber()
		var claims map[string]any
		if d.Decode(&claims) != nil {
			return
		}
		set, err := ReadSET(claims)
		if err != nil {
			if !errors.Is(err, ErrInvalidSET) {
				t.Fatalf("error does not wrap ErrInvalidSET: %v", err)
			}
			return
		}
		if set.JTI == "" || set.Type == "" || set.Payload == nil || set.Time.Unix() <= 0 {
			t.Fatalf("ReadSET = %+v", set)
		}
		m := MapSubject(set.Subject, []string{"https://localhost:9443/oauth2/token"})
		if m.Kind == revocation.RuleNone {
			if m.Reason == "" {
				t.Fatal("no rule and no reason")
			}
			return
		}
		if err := revocation.ValidateRuleNotice(revocation.RuleNotice{Kind: m.Kind, Key: m.Key, IssuedBefore: set.Time}); err != nil && set.Time.Unix() < 1<<32-2 {
			t.Fatalf("mapped to an invalid rule %+v: %v", m, err)
		}
	})
}

// FuzzTransmitterAnswers: the transmitter's configuration and stream
// answers are read without panicking; a configuration is used only when it
// names the transmitter and has its keys and stream endpoint.
func FuzzTransmitterAnswers(f *testing.F) {
	f.Add(`{"issuer":"https://tx","jwks_uri":"https://tx/jwks","configuration_endpoint":"https://tx/s","delivery_methods_supported":["urn:ietf:rfc:8936"]}`)
	f.Add(`{"stream_id":"s1","iss":"https://tx","aud":["a","b"],"delivery":{"method":"urn:ietf:rfc:8936","endpoint_url":"https://tx/poll"}}`)
	f.Add(`{"sets":{"j1":"a.b.c"},"moreAvailable":true}`)
	f.Fuzz(func(t *testing.T, js string) {
		var m Metadata
		if json.Unmarshal([]byte(js), &m) == nil && m.check("https://tx") == nil {
			if m.JWKSURI == "" || m.ConfigurationEndpoint == "" {
				t.Fatalf("accepted %+v", m)
			}
		}
		var s Stream
		_ = json.Unmarshal([]byte(js), &s)
		var p PollResponse
		_ = json.Unmarshal([]byte(js), &p)
	})
}

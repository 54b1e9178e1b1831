package revocation

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// messageTestJWT builds a compact JWT with the given claims and a fake
// signature; decodeNotice does not verify it.
func messageTestJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "wso2apim"}) + "." +
		enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("not-really-a-signature-SECRETSIG"))
}

// decodeNotice is DecodeMessage for a token revocation only: a rule is an
// error.
func decodeNotice(body []byte, header func(string) (string, bool)) (Notice, error) {
	return decodeNoticeAt(body, header, time.Now())
}

func decodeNoticeAt(body []byte, header func(string) (string, bool), now time.Time) (Notice, error) {
	m, err := decodeMessageAt(body, header, now)
	if err != nil {
		return Notice{}, err
	}
	if m.Rule.Kind != RuleNone {
		return Notice{}, fmt.Errorf("%w: a revocation rule (%s), not a token revocation", ErrInvalidNotice, m.Rule.Kind.spec().field)
	}
	return m.Notice, nil
}

func messageHeaders(h map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := h[k]; return v, ok }
}

func TestMessageDecodeForms(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	jwtWithExp := messageTestJWT(t, map[string]any{"jti": "jwt-jti-1", "sub": "alice", "exp": now.Unix() + 600})
	jwtNoExp := messageTestJWT(t, map[string]any{"jti": "jwt-jti-2", "sub": "alice"})
	jwtExpired := messageTestJWT(t, map[string]any{"jti": "jwt-jti-3", "exp": now.Unix() - 600})
	// Gateways accept a token up to ExpiryLeeway past its exp: one that
	// expired 30 s ago must stay revoked for 30 s more.
	jwtJustExpired := messageTestJWT(t, map[string]any{"jti": "jwt-jti-4", "exp": now.Unix() - 30})
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
		want    Notice
	}{
		{"flat, ttl string", `{"revokedToken": "abc-123", "ttl": "3600"}`, nil, Notice{"abc-123", time.Hour}},
		{"flat, ttl number", `{"revokedToken":"abc-123","ttl":60}`, nil, Notice{"abc-123", time.Minute}},
		{"flat, ttl with spaces", `{"revokedToken":"abc-123","ttl":" 60 "}`, nil, Notice{"abc-123", time.Minute}},
		{"flat, no ttl", `{"revokedToken":"abc-123"}`, nil, Notice{"abc-123", 0}},
		{"flat, ttl null", `{"revokedToken":"abc-123","ttl":null}`, nil, Notice{"abc-123", 0}},
		{"flat, ttl empty", `{"revokedToken":"abc-123","ttl":" "}`, nil, Notice{"abc-123", 0}},
		{"headers only, empty ttl", ``, map[string]string{"revokedToken": "hdr-1", "ttl": ""}, Notice{"hdr-1", 0}},
		{"flat, huge ttl is for good", `{"revokedToken":"abc-123","ttl":"99999999999999999999999"}`, nil, Notice{"abc-123", 0}},
		{"flat, extra fields", `{"revokedToken":"abc-123","ttl":"5","tenant":"carbon.super"}`, nil, Notice{"abc-123", 5 * time.Second}},
		{"event form", `{"event":{"metaData":{},"payloadData":{"revokedToken":"ev-1","ttl":"120"}}}`, nil, Notice{"ev-1", 2 * time.Minute}},
		{"event form, ttl number", `{"event":{"payloadData":{"revokedToken":"ev-1","ttl":7}}}`, nil, Notice{"ev-1", 7 * time.Second}},
		{"headers only", ``, map[string]string{"revokedToken": "hdr-1", "ttl": "30"}, Notice{"hdr-1", 30 * time.Second}},
		{"headers only, whitespace body", " \n", map[string]string{"revokedToken": "hdr-1"}, Notice{"hdr-1", 0}},
		{"whole JWT, ttl given", `{"revokedToken":"` + jwtWithExp + `","ttl":"3600"}`, nil, Notice{"jwt-jti-1", time.Hour}},
		{"whole JWT, ttl from exp", `{"revokedToken":"` + jwtWithExp + `"}`, nil, Notice{"jwt-jti-1", 10*time.Minute + ExpiryLeeway}},
		{"whole JWT, no exp no ttl", `{"revokedToken":"` + jwtNoExp + `"}`, nil, Notice{"jwt-jti-2", 0}},
		{"whole JWT, expired", `{"revokedToken":"` + jwtExpired + `"}`, nil, Notice{"jwt-jti-3", time.Second}},
		{"whole JWT, expired within the leeway", `{"revokedToken":"` + jwtJustExpired + `"}`, nil, Notice{"jwt-jti-4", ExpiryLeeway - 30*time.Second}},
		{"whole JWT in header", ``, map[string]string{"revokedToken": jwtWithExp, "ttl": "10"}, Notice{"jwt-jti-1", 10 * time.Second}},
		{"dotted jti that is no JWT", `{"revokedToken":"a.b.c","ttl":"1"}`, nil, Notice{"a.b.c", time.Second}},
		{"unicode jti", `{"revokedToken":"jti-é-漢","ttl":"1"}`, nil, Notice{"jti-é-漢", time.Second}},
		// The bodies below are what ActiveMQ 5.17.2 delivered to a STOMP
		// subscription with transformation jms-map-json for a MapMessage
		// (made by a SEND with that transformation and no content-length).
		{"JMS map", `{"map":{"entry":[{"string":["revokedToken","abc"]},{"string":["ttl",3600]}]}}`, nil, Notice{"abc", time.Hour}},
		{"JMS map, one entry", `{"map":{"entry":{"string":["revokedToken","abc"]}}}`, nil, Notice{"abc", 0}},
		{"JMS map, int ttl", `{"map":{"entry":[{"string":["revokedToken","abc"]},{"string":"ttl","int":60}]}}`, nil, Notice{"abc", time.Minute}},
		{"JMS map, numeric jti", `{"map":{"entry":[{"string":["revokedToken",12345]},{"string":["ttl",3600]}]}}`, nil, Notice{"12345", time.Hour}},
		{"JMS map, boolean-like jti", `{"map":{"entry":[{"string":["revokedToken",true]},{"string":["ttl",3600]}]}}`, nil, Notice{"true", time.Hour}},
		{"JMS map, quoted ttl and other entries", `{"map":{"entry":[{"string":"b","boolean":true},{"string":["revokedToken","j-1"]},{"string":["ttl","5"]},{"string":"d","double":1.5}]}}`, nil, Notice{"j-1", 5 * time.Second}},
		{"JMS map, escaped jti", `{"map":{"entry":[{"string":["revokedToken","a\"b\\c"]}]}}`, nil, Notice{`a"b\c`, 0}},
		{"JMS map, whole JWT", `{"map":{"entry":[{"string":["revokedToken","` + jwtWithExp + `"]}]}}`, nil, Notice{"jwt-jti-1", 10*time.Minute + ExpiryLeeway}},
		{"flat form wins over a map", `{"revokedToken":"flat","map":{"entry":{"string":["revokedToken","abc"]}}}`, nil, Notice{"flat", 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h func(string) (string, bool)
			if tc.headers != nil {
				h = messageHeaders(tc.headers)
			}
			got, err := decodeNoticeAt([]byte(tc.body), h, now)
			if err != nil {
				t.Fatalf("decodeNotice: %v", err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMessageDecodeRejects(t *testing.T) {
	const secret = "s3cr3t-token-value"
	jwtNoJTI := messageTestJWT(t, map[string]any{"sub": secret, "exp": 2_000_000_000})
	jwtNumJTI := messageTestJWT(t, map[string]any{"jti": 42})
	head := strings.Split(messageTestJWT(t, map[string]any{"jti": "x"}), ".")[0]
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
	}{
		{"not JSON", `revokedToken=` + secret, nil},
		{"JSON array", `["` + secret + `"]`, nil},
		{"JSON string", `"` + secret + `"`, nil},
		{"no revokedToken", `{"ttl":"3600"}`, nil},
		{"empty event", `{"event":{}}`, nil},
		{"revokedToken number", `{"revokedToken":12345}`, nil},
		{"revokedToken object", `{"revokedToken":{"jti":"` + secret + `"}}`, nil},
		{"empty jti", `{"revokedToken":"","ttl":"1"}`, nil},
		{"null jti", `{"revokedToken":null}`, nil},
		{"control char", `{"revokedToken":"` + secret + `\u0000"}`, nil},
		{"newline", `{"revokedToken":"` + secret + `\nmore"}`, nil},
		{"too long jti", `{"revokedToken":"` + strings.Repeat("x", MaxJTILength+1) + `"}`, nil},
		{"ttl zero", `{"revokedToken":"` + secret + `","ttl":"0"}`, nil},
		{"ttl negative", `{"revokedToken":"` + secret + `","ttl":-5}`, nil},
		{"ttl fraction", `{"revokedToken":"` + secret + `","ttl":1.5}`, nil},
		{"ttl exponent", `{"revokedToken":"` + secret + `","ttl":1e3}`, nil},
		{"ttl words", `{"revokedToken":"` + secret + `","ttl":"one hour"}`, nil},
		{"ttl bool", `{"revokedToken":"` + secret + `","ttl":true}`, nil},
		{"JWT without jti", `{"revokedToken":"` + jwtNoJTI + `"}`, nil},
		{"JWT with numeric jti", `{"revokedToken":"` + jwtNumJTI + `"}`, nil},
		{"JWT with broken payload", `{"revokedToken":"` + head + `.` + secret + `!!.sig"}`, nil},
		{"JWE", `{"revokedToken":"` + head + `.` + secret + `.iv.ciphertext.tag"}`, nil},
		{"empty body, no headers", ``, nil},
		{"empty body, no revokedToken header", ``, map[string]string{"ttl": "5"}},
		{"header jti with control char", ``, map[string]string{"revokedToken": secret + "\x7f"}},
		{"header ttl bad", ``, map[string]string{"revokedToken": secret, "ttl": "-1"}},
		{"too large", `{"revokedToken":"` + secret + `","pad":"` + strings.Repeat("p", MaxNoticeSize) + `"}`, nil},
		// ActiveMQ turns a MapMessage's String "null" into "".
		{"JMS map, empty jti", `{"map":{"entry":[{"string":["revokedToken",""]},{"string":["ttl",3600]}]}}`, nil},
		{"JMS map, no revokedToken", `{"map":{"entry":{"string":["ttl","3600"]}}}`, nil},
		{"JMS map, no entries", `{"map":{}}`, nil},
		{"JMS map, entry a string", `{"map":{"entry":"` + secret + `"}}`, nil},
		{"JMS map, entry without key", `{"map":{"entry":[{"int":5}]}}`, nil},
		{"JMS map, pair of three", `{"map":{"entry":[{"string":["revokedToken","` + secret + `","x"]}]}}`, nil},
		{"JMS map, two values", `{"map":{"entry":[{"string":"revokedToken","int":5,"long":6}]}}`, nil},
		{"JMS map, object value", `{"map":{"entry":[{"string":"revokedToken","byte-array":{"x":"` + secret + `"}}]}}`, nil},
		{"JMS map, null value", `{"map":{"entry":[{"string":["revokedToken",null]}]}}`, nil},
		{"JMS map, twice", `{"map":{"entry":[{"string":["revokedToken","` + secret + `"]},{"string":["revokedToken","b"]}]}}`, nil},
		{"JMS map, control char", `{"map":{"entry":[{"string":["revokedToken","` + secret + `\u0001"]}]}}`, nil},
		{"JMS map, ttl words", `{"map":{"entry":[{"string":["revokedToken","` + secret + `"]},{"string":["ttl","soon"]}]}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := func(string) (string, bool) { return "", false }
			if tc.headers != nil {
				h = messageHeaders(tc.headers)
			} else if tc.body == "" {
				h = nil
			}
			n, err := decodeNotice([]byte(tc.body), h)
			if err == nil {
				t.Fatalf("accepted: %+v", n)
			}
			if !errors.Is(err, ErrInvalidNotice) {
				t.Errorf("error does not wrap ErrInvalidNotice: %v", err)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "SECRETSIG") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestMessageEncodeRoundTrip(t *testing.T) {
	for _, n := range []Notice{
		{"abc", time.Hour},
		{"abc", 0},
		{`quote"back\slash`, time.Second},
		{"jti-é", 1500 * time.Millisecond},
	} {
		b := EncodeNotice(n)
		got, err := decodeNotice(b, nil)
		if err != nil {
			t.Fatalf("decodeNotice(%s): %v", b, err)
		}
		want := n
		want.TTL = (n.TTL + time.Second - 1) / time.Second * time.Second
		if got != want {
			t.Errorf("round trip of %+v gave %+v (%s)", n, got, b)
		}
	}
	if got := string(EncodeNotice(Notice{"abc", time.Hour})); got != `{"revokedToken":"abc","ttl":"3600"}` {
		t.Errorf("EncodeNotice = %s, want the original's flat form with a string ttl", got)
	}
}

func FuzzDecodeNotice(f *testing.F) {
	f.Add([]byte(`{"revokedToken":"abc","ttl":"3600"}`), "", "")
	f.Add([]byte(`{"revokedToken":"abc","ttl":3600}`), "", "")
	f.Add([]byte(`{"event":{"payloadData":{"revokedToken":"abc","ttl":"5"}}}`), "", "")
	f.Add([]byte(``), "hdr-jti", "10")
	f.Add([]byte(`{"revokedToken":"`+messageTestJWT(f, map[string]any{"jti": "j", "exp": 2_000_000_000})+`"}`), "", "")
	f.Add([]byte(`{"revokedToken":"eyJhbGciOiJub25lIn0.e30.x"}`), "", "")
	f.Add([]byte(`{"revokedSubject":"alice","issuedBefore":1764300000,"ttl":86400}`), "", "")
	f.Add([]byte(`{"revokedClient":"app","issuedBefore":"1764300000","ttl":"60"}`), "", "")
	f.Add([]byte(`{"event":{"payloadData":{"revokedIssuer":"https://idp","issuedBefore":1764300000}}}`), "", "")
	f.Add([]byte(`{"map":{"entry":[{"string":["revokedToken","abc"]},{"string":["ttl",3600]}]}}`), "", "")
	f.Add([]byte(`{"map":{"entry":{"string":"ttl","int":3600}}}`), "", "")
	f.Add([]byte(`{"revokedCertificate":"`+CertificateFingerprint(nil)+`","ttl":3600}`), "", "")
	f.Add([]byte(`{"map":{"entry":[{"string":["revokedSubject","alice"]},{"string":"issuedBefore","long":1764300000},{"string":["ttl",86400]}]}}`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, hdrToken, hdrTTL string) {
		h := func(k string) (string, bool) {
			switch k {
			case "revokedToken":
				return hdrToken, hdrToken != ""
			case "ttl":
				return hdrTTL, hdrTTL != ""
			}
			return "", false
		}
		fuzzDecodeMessageRule(t, body, h)
		n, err := decodeNotice(body, h)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("error does not wrap ErrInvalidNotice: %v", err)
			}
			var m struct {
				RevokedToken string `json:"revokedToken"`
			}
			if json.Unmarshal(body, &m) == nil && len(m.RevokedToken) >= 12 && strings.Contains(err.Error(), m.RevokedToken) {
				t.Fatalf("error leaks the token: %v", err)
			}
			if len(hdrToken) >= 12 && strings.Contains(err.Error(), hdrToken) {
				t.Fatalf("error leaks the header token: %v", err)
			}
			return
		}
		if CheckJTI(n.JTI) != nil || LooksLikeJWT(n.JTI) {
			t.Fatalf("accepted an invalid jti %q", n.JTI)
		}
		if n.TTL < 0 || n.TTL > MaxNoticeTTL || n.TTL%time.Second != 0 {
			t.Fatalf("accepted a bad TTL %v", n.TTL)
		}
		// What we accept, we can publish again and read back the same.
		back, err := decodeNotice(EncodeNotice(n), nil)
		if err != nil {
			t.Fatalf("re-encoded notice %+v does not decode: %v", n, err)
		}
		if back != n {
			t.Fatalf("re-encoded notice %+v decodes as %+v", n, back)
		}
	})
}

// fuzzDecodeMessageRule checks DecodeMessage on the same input: it agrees
// with decodeNotice on token revocations, and a rule it accepts is valid and
// reads back the same once encoded.
func fuzzDecodeMessageRule(t *testing.T, body []byte, h func(string) (string, bool)) {
	m, err := DecodeMessage(body, h)
	if err != nil {
		if !errors.Is(err, ErrInvalidNotice) {
			t.Fatalf("DecodeMessage error does not wrap ErrInvalidNotice: %v", err)
		}
		return
	}
	if m.Rule.Kind == RuleNone {
		n, err := decodeNotice(body, h)
		if err != nil || n.JTI != m.Notice.JTI {
			t.Fatalf("DecodeMessage read jti %q, decodeNotice %q, %v", m.Notice.JTI, n.JTI, err)
		}
		return
	}
	if err := ValidateRuleNotice(m.Rule); err != nil {
		t.Fatalf("accepted an invalid rule %+v: %v", m.Rule, err)
	}
	if m.Rule.TTL < 0 || m.Rule.TTL > MaxNoticeTTL || m.Rule.TTL%time.Second != 0 {
		t.Fatalf("accepted a bad rule TTL %v", m.Rule.TTL)
	}
	back, err := DecodeMessage(EncodeRuleNotice(m.Rule), nil)
	if err != nil || back.Rule != m.Rule {
		t.Fatalf("re-encoded rule %+v decodes as %+v, %v", m.Rule, back.Rule, err)
	}
}

// A rule can come as headers with an empty body, as a token can: the bridge
// of a JMS MapMessage sends it so. The header values are checked exactly as
// the JSON fields are.
func TestDecodeMessageRuleHeaders(t *testing.T) {
	cut := time.Unix(1_764_300_000, 0)
	for _, tc := range []struct {
		headers map[string]string
		want    RuleNotice
	}{
		{map[string]string{"revokedSubject": "alice", "issuedBefore": "1764300000", "ttl": "86400"}, RuleNotice{RuleSubject, "alice", cut, 86400 * time.Second}},
		{map[string]string{"revokedClient": "app <1>&", "issuedBefore": "1764300000"}, RuleNotice{RuleClient, "app <1>&", cut, 0}},
		{map[string]string{"revokedIssuer": "https://idp/oauth2/token", "issuedBefore": "1764300000", "ttl": ""}, RuleNotice{RuleIssuer, "https://idp/oauth2/token", cut, 0}},
	} {
		m, err := DecodeMessage(nil, messageHeaders(tc.headers))
		if err != nil || m.Rule != tc.want || m.Notice != (Notice{}) {
			t.Errorf("DecodeMessage(headers %v) = %+v, %v; want %+v", tc.headers, m, err, tc.want)
		}
		if _, err := decodeNotice(nil, messageHeaders(tc.headers)); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("decodeNotice(headers %v) accepted a rule", tc.headers)
		}
	}
	// revokedToken wins, as in the body.
	m, err := DecodeMessage(nil, messageHeaders(map[string]string{"revokedToken": "j1", "revokedSubject": "alice", "issuedBefore": "1764300000"}))
	if err != nil || m.Rule.Kind != RuleNone || m.Notice.JTI != "j1" {
		t.Errorf("token and rule headers decode as %+v, %v", m, err)
	}
	for _, bad := range []map[string]string{
		{"revokedSubject": "alice"},
		{"revokedSubject": "alice", "issuedBefore": "soon"},
		{"revokedSubject": "alice", "issuedBefore": "0"},
		{"revokedSubject": "", "issuedBefore": "1764300000"},
		{"revokedSubject": "a\x01b", "issuedBefore": "1764300000"},
		{"revokedSubject": strings.Repeat("a", MaxRuleKeyLength+1), "issuedBefore": "1764300000"},
		{"revokedSubject": "alice", "revokedClient": "x", "issuedBefore": "1764300000"},
		{"revokedSubject": "alice", "issuedBefore": "1764300000", "ttl": "1h"},
		{"issuedBefore": "1764300000", "ttl": "5"},
		{"revokedSubject": "al\xffice", "issuedBefore": "1764300000"},
	} {
		if _, err := DecodeMessage(nil, messageHeaders(bad)); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("DecodeMessage(headers %v) = %v, want ErrInvalidNotice", bad, err)
		}
	}
}

func FuzzDecodeRuleHeaders(f *testing.F) {
	f.Add("revokedSubject", "alice", "1764300000", "86400")
	f.Add("revokedIssuer", "https://idp/oauth2/token", "1764300000", "")
	f.Add("revokedClient", "app", "1764300000x", "-1")
	f.Fuzz(func(t *testing.T, kindHeader, key, issuedBefore, ttl string) {
		h := messageHeaders(map[string]string{kindHeader: key, "issuedBefore": issuedBefore, "ttl": ttl})
		m, err := DecodeMessage(nil, h)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("error does not wrap ErrInvalidNotice: %v", err)
			}
			return
		}
		if m.Rule.Kind == RuleNone {
			return // kindHeader was revokedToken: a token revocation
		}
		if err := ValidateRuleNotice(m.Rule); err != nil {
			t.Fatalf("decoded an invalid rule %+v: %v", m.Rule, err)
		}
		if m.Rule.Key != key {
			t.Fatalf("key %q decoded as %q", key, m.Rule.Key)
		}
	})
}

// TestDecodeMessageRuleJMSMap: the rule forms as ActiveMQ delivers a
// MapMessage with transformation jms-map-json (bodies as observed).
func TestDecodeMessageRuleJMSMap(t *testing.T) {
	cut := time.Unix(1_764_300_000, 0)
	for _, tc := range []struct {
		body string
		want RuleNotice
	}{
		{`{"map":{"entry":[{"string":["revokedSubject","alice"]},{"string":"issuedBefore","long":1764300000},{"string":["ttl",86400]}]}}`, RuleNotice{RuleSubject, "alice", cut, 86400 * time.Second}},
		{`{"map":{"entry":[{"string":["revokedClient","app"]},{"string":["issuedBefore",1764300000]}]}}`, RuleNotice{RuleClient, "app", cut, 0}},
		{`{"map":{"entry":[{"string":["issuedBefore","1764300000"]},{"string":["revokedIssuer","https://idp/oauth2/token"]},{"string":"ttl","int":60}]}}`, RuleNotice{RuleIssuer, "https://idp/oauth2/token", cut, time.Minute}},
	} {
		m, err := DecodeMessage([]byte(tc.body), nil)
		if err != nil || m.Rule != tc.want || m.Notice != (Notice{}) {
			t.Errorf("DecodeMessage(%s) = %+v, %v; want %+v", tc.body, m, err, tc.want)
		}
		if _, err := decodeNotice([]byte(tc.body), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("decodeNotice(%s) accepted a rule", tc.body)
		}
	}
	for _, bad := range []string{
		`{"map":{"entry":{"string":["revokedSubject","alice"]}}}`,
		`{"map":{"entry":[{"string":["revokedSubject","alice"]},{"string":["issuedBefore","soon"]}]}}`,
		`{"map":{"entry":[{"string":["revokedSubject","alice"]},{"string":["revokedClient","x"]},{"string":["issuedBefore",1764300000]}]}}`,
	} {
		if _, err := DecodeMessage([]byte(bad), nil); !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("DecodeMessage(%s) = %v, want ErrInvalidNotice", bad, err)
		}
	}
}

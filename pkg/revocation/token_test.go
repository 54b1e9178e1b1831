package revocation

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestReadRevokedToken is the one table of what a revocation revokes: the
// message decoder, the publishers and the token service all read tokens
// through ReadRevokedToken.
func TestReadRevokedToken(t *testing.T) {
	exp := time.Unix(2_000_000_000, 0)
	b64 := base64.RawURLEncoding.EncodeToString
	jwt := func(claims map[string]any) string { return messageTestJWT(t, claims) }
	whole := jwt(map[string]any{"jti": "the-jti", "exp": exp.Unix()})
	head, _, _ := strings.Cut(whole, ".")
	for _, tc := range []struct {
		name, in string
		want     RevokedToken // zero: refused
		err      error        // also wrapped, besides ErrInvalidNotice
	}{
		{"bare jti", "plain-jti", RevokedToken{JTI: "plain-jti"}, nil},
		{"bare jti with white space around", "  1e41eb69-b134-4158-ba16-9449ecaa2b3b\n", RevokedToken{JTI: "1e41eb69-b134-4158-ba16-9449ecaa2b3b"}, nil},
		{"bare jti with dots", "a.b.c", RevokedToken{JTI: "a.b.c"}, nil},
		{"bare jti with one dot", "a.b", RevokedToken{JTI: "a.b"}, nil},
		{"bare jti of the longest", strings.Repeat("j", MaxJTILength), RevokedToken{JTI: strings.Repeat("j", MaxJTILength)}, nil},
		{"JWT", whole, RevokedToken{JTI: "the-jti", Exp: exp, IsJWT: true}, nil},
		{"JWT without exp", jwt(map[string]any{"jti": "j1"}), RevokedToken{JTI: "j1", IsJWT: true}, nil},
		{"JWT with a fractional exp", jwt(map[string]any{"jti": "j", "exp": 2_000_000_000.5}), RevokedToken{JTI: "j", Exp: exp.Add(500 * time.Millisecond), IsJWT: true}, nil},
		{"JWT with a string exp: exp ignored", jwt(map[string]any{"jti": "j", "exp": "2000000000"}), RevokedToken{JTI: "j", IsJWT: true}, nil},
		{"JWT with a negative exp: exp ignored", jwt(map[string]any{"jti": "j", "exp": -5}), RevokedToken{JTI: "j", IsJWT: true}, nil},
		{"JWT with a big payload", jwt(map[string]any{"jti": "long-jti", "exp": exp.Unix(), "pad": strings.Repeat("p", 3000)}), RevokedToken{JTI: "long-jti", Exp: exp, IsJWT: true}, nil},
		// Claim names are exact: "JTI" is not the jti the gateway checks.
		{"JTI beside jti", jwt(map[string]any{"JTI": "upper", "jti": "lower"}), RevokedToken{JTI: "lower", IsJWT: true}, nil},
		{"JTI alone", "e30." + b64([]byte(`{"JTI":"upper"}`)) + ".sig", RevokedToken{}, ErrNoJTI},
		{"no jti", "e30.e30.sig", RevokedToken{}, ErrNoJTI},
		// WSO2's key manager wrote standard base64 with padding; the payload
		// is {"jti":"3ad5672a","exp":1560516585}.
		{"standard base64 with padding", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJqdGkiOiIzYWQ1NjcyYSIsImV4cCI6MTU2MDUxNjU4NX0=.c2ln",
			RevokedToken{JTI: "3ad5672a", Exp: time.Unix(1560516585, 0), IsJWT: true}, nil},
		{"standard alphabet", "e30." + base64.StdEncoding.EncodeToString([]byte(`{"jti":"a?>b"}`)) + ".x", RevokedToken{JTI: "a?>b", IsJWT: true}, nil},

		{"empty", "", RevokedToken{}, nil},
		{"white space only", "  \t", RevokedToken{}, nil},
		{"jti with a space", "two words", RevokedToken{}, nil},
		{"jti with a tab", "tab\there", RevokedToken{}, nil},
		{"jti with a control character", "bad\x01jti", RevokedToken{}, nil},
		{"jti not UTF-8", "bad\xffjti", RevokedToken{}, nil},
		{"jti too long", strings.Repeat("j", MaxJTILength+1), RevokedToken{}, nil},
		{"JWT whose jti has a newline", "e30." + b64([]byte(`{"jti":"a\nb"}`)) + ".x", RevokedToken{}, nil},
		{"JWT whose jti has a space", "e30." + b64([]byte(`{"jti":"a b"}`)) + ".x", RevokedToken{}, nil},
		{"JWT whose jti is too long", jwt(map[string]any{"jti": strings.Repeat("j", MaxJTILength+1)}), RevokedToken{}, nil},
		{"JWT whose jti is a number", "e30." + b64([]byte(`{"jti":5}`)) + ".x", RevokedToken{}, nil},
		{"JWT whose payload is not JSON", "e30." + b64([]byte("not json")) + ".x", RevokedToken{}, nil},
		{"JWT whose payload is not base64", "e30.%%%.x", RevokedToken{}, nil},
		{"JWT whose payload is a JSON array", "e30." + b64([]byte(`["jti"]`)) + ".x", RevokedToken{}, nil},
		// A token cut short is no jti: revoked as one, the real token would
		// stay valid.
		{"JWT without its signature", whole[:strings.LastIndexByte(whole, '.')], RevokedToken{}, nil},
		{"JWT cut in its payload", whole[:len(head)+10], RevokedToken{}, nil},
		{"JOSE header and a dot", head + ".", RevokedToken{}, nil},
		{"JWS with four parts", whole + ".x", RevokedToken{}, nil},
		{"JWE", head + ".key.iv.ciphertext.tag", RevokedToken{}, nil},
	} {
		got, err := ReadRevokedToken(tc.in)
		if tc.want == (RevokedToken{}) {
			if err == nil {
				t.Errorf("%s: accepted as %+v", tc.name, got)
				continue
			}
			if !errors.Is(err, ErrInvalidNotice) || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("%s: error %v does not wrap ErrInvalidNotice and %v", tc.name, err, tc.err)
			}
			if len(tc.in) > 8 && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("%s: the error shows the token: %v", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

func TestRevokedTokenUntil(t *testing.T) {
	if u := (RevokedToken{JTI: "j"}).Until(); !u.IsZero() {
		t.Errorf("no exp: Until = %v, want zero", u)
	}
	exp := time.Unix(2_000_000_000, 0)
	if u := (RevokedToken{JTI: "j", Exp: exp}).Until(); !u.Equal(exp.Add(ExpiryLeeway)) {
		t.Errorf("Until = %v, want exp + %v", u, ExpiryLeeway)
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for in, want := range map[string]bool{
		"e30.e30.x": true, "e30.": true, " e30.e30 ": true, "e30": false, "plain": false, "a.b.c": false, "eyJ.x": false,
	} {
		if got := LooksLikeJWT(in); got != want {
			t.Errorf("LooksLikeJWT(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestReadOpaqueToken: an opaque token is named by its SHA-256 in
// lowercase hex; anything that is no bearer token, or is a JWT, is refused
// without the token in the error.
func TestReadOpaqueToken(t *testing.T) {
	tok, err := ReadOpaqueToken(" mF_9.B5f-4.1JqM~+/== ")
	if err != nil || !tok.Opaque || tok.IsJWT || tok.JTI != OpaqueTokenKey("mF_9.B5f-4.1JqM~+/==") || len(tok.JTI) != 64 {
		t.Fatalf("got %+v, %v", tok, err)
	}
	if CheckJTI(tok.JTI) != nil {
		t.Error("the key is no jti the revoked set takes")
	}
	for _, bad := range []string{"", "two words", "tab\there", "=", "abc=def", strings.Repeat("a", MaxNoticeSize+1),
		"eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJqIn0.c2ln"} {
		_, err := ReadOpaqueToken(bad)
		if !errors.Is(err, ErrInvalidNotice) {
			t.Errorf("%.20q: %v", bad, err)
		} else if len(bad) > 8 && strings.Contains(err.Error(), bad) {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
}

// FuzzReadOpaqueToken: a token is refused, or named by a key that every
// side (message, etcd, file store) takes as a jti.
func FuzzReadOpaqueToken(f *testing.F) {
	for _, s := range []string{"2YotnFZFEjr1zCsicMWpAA", "a.b.c", "x==", "  ", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ReadOpaqueToken(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidNotice) {
				t.Fatalf("error does not wrap ErrInvalidNotice: %v", err)
			}
			return
		}
		if CheckJTI(tok.JTI) != nil || len(tok.JTI) != 64 || LooksLikeJWT(s) {
			t.Fatalf("%q read as %+v", s, tok)
		}
	})
}

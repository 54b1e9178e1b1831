package tokenservice

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseToken(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	jwt := jwtFor(t, "the-jti", iat, time.Hour)
	tok, err := ParseToken(jwt)
	if err != nil {
		t.Fatal(err)
	}
	if tok.JTI != "the-jti" || !tok.IsJWT || !tok.ExpiresAt.Equal(iat.Add(time.Hour)) {
		t.Errorf("JWT = %+v", tok)
	}

	// WSO2's key manager wrote standard base64 with padding; its payload
	// here is {"jti":"3ad5672a","exp":1560516585}.
	wso2 := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJqdGkiOiIzYWQ1NjcyYSIsImV4cCI6MTU2MDUxNjU4NX0=.c2ln"
	if tok, err := ParseToken(wso2); err != nil || tok.JTI != "3ad5672a" || tok.ExpiresAt.Unix() != 1560516585 {
		t.Errorf("WSO2 form = %+v, %v", tok, err)
	}

	if tok, err := ParseToken("  1e41eb69-b134-4158-ba16-9449ecaa2b3b\n"); err != nil || tok.JTI != "1e41eb69-b134-4158-ba16-9449ecaa2b3b" || tok.IsJWT {
		t.Errorf("bare jti = %+v, %v", tok, err)
	}
	if tok, err := ParseToken("a.b"); err != nil || tok.JTI != "a.b" {
		t.Errorf("a jti with one dot = %+v, %v", tok, err)
	}

	// A token cut short is no jti: revoked as one, the real token would
	// stay valid. Nor is a whole token given where a jti is expected.
	head, _, _ := strings.Cut(jwt, ".")
	for _, cut := range []string{jwt[:strings.LastIndexByte(jwt, '.')], jwt[:len(head)+10], head + "."} {
		if tok, err := ParseToken(cut); err == nil {
			t.Errorf("a JWT cut to %d of %d bytes accepted as %+v", len(cut), len(jwt), tok)
		}
	}
	if tok, err := parseJTI(jwt); err == nil {
		t.Errorf("a whole JWT accepted as the jti %+v", tok)
	}

	// Claim names are exact: "JTI" is not the jti the gateway checks.
	if _, err := ParseToken("e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"JTI":"upper"}`)) + ".sig"); !errors.Is(err, ErrNoJTI) {
		t.Errorf("a JWT with JTI but no jti: %v, want ErrNoJTI", err)
	}
	if _, err := ParseToken("e30.e30.sig"); !errors.Is(err, ErrNoJTI) {
		t.Errorf("JWT without jti: %v, want ErrNoJTI", err)
	}
	for _, bad := range []string{"", "   ", "two words", "x.%%%.y", "eyJ.bm90IGpzb24.x", "tab\there", "e30.eyJqdGkiOiJhXG5iIn0.x" /* jti "a\nb" */} {
		if tok, err := ParseToken(bad); err == nil {
			t.Errorf("%q accepted as %+v", bad, tok)
		}
	}
}

func TestRoundUpToSecond(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		time.Second: time.Second, 1500 * time.Millisecond: 2 * time.Second, time.Nanosecond: time.Second, time.Hour: time.Hour,
	} {
		if got := roundUpToSecond(in); got != want {
			t.Errorf("roundUpToSecond(%s) = %s, want %s", in, got, want)
		}
	}
}

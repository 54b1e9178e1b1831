package tokenservice

import (
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// TestReadRequest covers what a tool's caller adds to the one reading of
// revocation.ReadRevokedToken (whose table is in pkg/revocation).
func TestReadRequest(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	jwt := jwtFor(t, "the-jti", iat, time.Hour)
	if tok, err := readRequest(Request{Token: jwt}); err != nil || tok.JTI != "the-jti" || !tok.IsJWT || !tok.Exp.Equal(iat.Add(time.Hour)) {
		t.Errorf("a JWT = %+v, %v", tok, err)
	}
	// A whole token that is no JWT is an opaque token, keyed by its SHA-256.
	if tok, err := readRequest(Request{Token: "2YotnFZFEjr1zCsicMWpAA", WholeToken: true}); err != nil || !tok.Opaque ||
		tok.JTI != "6c96130f130ab0d6d158397e24d2bcc1c9a5e73ae081f6e983f1c7b545d24a4c" || revocation.OpaqueTokenKey("2YotnFZFEjr1zCsicMWpAA") != tok.JTI {
		t.Errorf("an opaque token = %+v, %v", tok, err)
	}
	head, _, _ := strings.Cut(jwt, ".")
	for _, bad := range []string{head + "." + "e30", "two words", "a\x00b"} {
		if tok, err := readRequest(Request{Token: bad, WholeToken: true}); err == nil {
			t.Errorf("whole token %.20q accepted as %+v", bad, tok)
		}
	}
	if tok, err := readRequest(Request{JTI: "a.b.c", Token: jwt}); err != nil || tok.JTI != "a.b.c" || tok.IsJWT {
		t.Errorf("JTI a.b.c = %+v, %v", tok, err)
	}
	for _, bad := range []string{jwt, head + ".", "two words"} {
		if tok, err := readRequest(Request{JTI: bad}); err == nil {
			t.Errorf("JTI %.20q accepted as %+v", bad, tok)
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

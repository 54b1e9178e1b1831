package tokenservice

import (
	"strings"
	"testing"
	"time"
)

// TestReadRequest covers what a tool's caller adds to the one reading of
// revocation.ReadRevokedToken (whose table is in pkg/revocation).
func TestReadRequest(t *testing.T) {
	iat := time.Unix(1_700_000_000, 0)
	jwt := jwtFor(t, "the-jti", iat, time.Hour)
	if tok, err := readRequest(Request{Token: jwt}); err != nil || tok.JTI != "the-jti" || !tok.IsJWT || !tok.Exp.Equal(iat.Add(time.Hour)) {
		t.Errorf("a JWT = %+v, %v", tok, err)
	}
	if tok, err := readRequest(Request{Token: "a.b", WholeJWT: true}); err == nil {
		t.Errorf("a bare jti where a whole JWT is expected: accepted as %+v", tok)
	}
	if tok, err := readRequest(Request{JTI: "a.b.c", Token: jwt}); err != nil || tok.JTI != "a.b.c" || tok.IsJWT {
		t.Errorf("JTI a.b.c = %+v, %v", tok, err)
	}
	head, _, _ := strings.Cut(jwt, ".")
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

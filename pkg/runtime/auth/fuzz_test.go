package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// FuzzValidate feeds arbitrary token strings. Validate must not panic, must
// return an *Error when it refuses, and whatever it accepts must verify
// independently with the trusted key: a fuzzer that finds a way past the
// signature check fails here.
func FuzzValidate(f *testing.F) {
	iss := authtest.NewIssuer(f)
	ec := authtest.NewIssuer(f, authtest.WithKeyType(authtest.ECDSA), authtest.WithTrustStore(iss.TrustStore),
		authtest.WithAlias("ec"), authtest.WithName("https://ec/token"))
	cfg := iss.Config()
	ecCfg := ec.JWTConfig()
	ecCfg.TokenTypes = []string{"at+jwt"} // one issuer with explicit typing, one without
	cfg.JWT = append(cfg.JWT, ecCfg)
	v, err := New(cfg, Options{Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	valid := iss.Token(f, map[string]any{"scope": "a b"})
	parts := strings.Split(valid, ".")
	f.Add(valid)
	f.Add(ec.Token(f, nil))
	f.Add(ec.Sign(f, ec.Claims(), map[string]any{"typ": "application/AT+JWT"}))
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(craft(f, map[string]any{"alg": "none"}, iss.Claims(), nil, nil))
	f.Add("a.b.c")
	f.Add("")
	f.Add(`{"payload":"x"}`)
	f.Add(craft(f, `{"alg":"RS256","crit":["x"]}`, `{"iss":"`+iss.Name+`"}`, jwt.SigningMethodRS256, iss.Key))
	keys := map[string]any{iss.Name: iss.Cert.PublicKey, ec.Name: ec.Cert.PublicKey}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Validate(context.Background(), tok)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not *Error", err)
			}
			return
		}
		pub, ok := keys[c.Issuer]
		if !ok {
			t.Fatalf("accepted a token of issuer %q", c.Issuer)
		}
		parsed, perr := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"}))
		if perr != nil {
			t.Fatalf("accepted a token that does not verify: %v", perr)
		}
		if typ, _ := parsed.Header["typ"].(string); c.Issuer == ec.Name && !strings.EqualFold(strings.TrimPrefix(strings.ToLower(typ), "application/"), "at+jwt") {
			t.Fatalf("accepted a token of typ %q from an issuer that wants at+jwt", typ)
		}
	})
}

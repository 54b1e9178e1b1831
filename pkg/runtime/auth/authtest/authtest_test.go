package authtest

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestIssuerTokenVerifiesWithTrustStoreCert checks the contract other tests
// rely on: the token verifies with the certificate written to the trust store.
func TestIssuerTokenVerifiesWithTrustStoreCert(t *testing.T) {
	dir := t.TempDir()
	for _, kt := range []KeyType{RSA, ECDSA, Ed25519} {
		iss := NewIssuer(t, WithKeyType(kt), WithAlias("a"+string(rune('0'+kt))), WithTrustStore(dir))
		raw, err := os.ReadFile(filepath.Join(dir, iss.Alias+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(raw)
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("%s.pem: no certificate", iss.Alias)
		}
		tok := iss.Token(t, map[string]any{"scope": "read", "sub": nil})
		claims := jwt.MapClaims{}
		_, err = jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return iss.Cert.PublicKey, nil },
			jwt.WithValidMethods([]string{iss.Method.Alg()}), jwt.WithIssuer(iss.Name), jwt.WithAudience(iss.Audience))
		if err != nil {
			t.Fatalf("key type %d: %v", kt, err)
		}
		if claims["scope"] != "read" {
			t.Errorf("scope = %v", claims["scope"])
		}
		if _, ok := claims["sub"]; ok {
			t.Error("sub not removed")
		}
	}
}

package authtest

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
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

// TestJWKS checks that the JWK Set names the key by alias and that the
// published key is the issuer's.
func TestJWKS(t *testing.T) {
	iss := NewIssuer(t, WithKeyType(ECDSA), WithAlias("k1"))
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != "k1" || set.Keys[0]["crv"] != "P-256" || set.Keys[0]["kty"] != "EC" {
		t.Fatalf("set = %v", set)
	}
	pub := iss.Key.Public().(*ecdsa.PublicKey)
	b, _ := pub.Bytes()
	if set.Keys[0]["x"] != base64.RawURLEncoding.EncodeToString(b[1:33]) {
		t.Fatal("x does not match the key")
	}
}

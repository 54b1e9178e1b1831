package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func parse(t *testing.T, tok string, pub any) (*jwt.Token, jwt.MapClaims) {
	t.Helper()
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256", "ES256"}),
		jwt.WithIssuer(DefaultIssuer), jwt.WithAudience(DefaultAudience), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatalf("token does not validate: %v", err)
	}
	return parsed, claims
}

func TestSignDefaults(t *testing.T) {
	key := rsaKey(t)
	now := time.Now().Truncate(time.Second)
	tok, err := Sign(key, DefaultKeyID, Claims{IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	parsed, claims := parse(t, tok, &key.PublicKey)
	if parsed.Header["alg"] != "RS256" || parsed.Header["kid"] != "wso2apim" || parsed.Header["typ"] != "at+jwt" {
		t.Errorf("header = %v, want alg RS256 and kid wso2apim", parsed.Header)
	}
	if claims["sub"] != "admin" || claims["aud"] != DefaultAudience || claims["keytype"] != "PRODUCTION" {
		t.Errorf("claims = %v", claims)
	}
	if _, has := claims["scope"]; has {
		t.Errorf("scope present without scopes: %v", claims["scope"])
	}
	if got := int64(claims["exp"].(float64)); got != now.Add(time.Hour).Unix() {
		t.Errorf("exp = %d, want iat + 1h = %d", got, now.Add(time.Hour).Unix())
	}
	if got := int64(claims["iat"].(float64)); got != now.Unix() {
		t.Errorf("iat = %d, want %d", got, now.Unix())
	}
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if jti, _ := claims["jti"].(string); !uuidV4.MatchString(jti) {
		t.Errorf("jti = %q, want a random UUID v4", jti)
	}
	tok2, err := Sign(key, DefaultKeyID, Claims{IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, c2 := parse(t, tok2, &key.PublicKey); c2["jti"] == claims["jti"] {
		t.Errorf("two tokens share the jti %v", c2["jti"])
	}
}

func TestSignGivenClaims(t *testing.T) {
	key := rsaKey(t)
	tok, err := Sign(key, "other", Claims{
		Issuer: "https://idp.example/", Subject: "alice", Audience: []string{"a1", "a2"},
		Scopes: []string{"read:pets", "write:pets"}, TTL: 5 * time.Minute, JTI: "my-jti", KeyType: "sandbox",
		Extra: map[string]any{"consumerKey": "ck", "jti": "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithIssuer("https://idp.example/"), jwt.WithAudience("a2"))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != "other" {
		t.Errorf("kid = %v", parsed.Header["kid"])
	}
	want := map[string]any{"sub": "alice", "scope": "read:pets write:pets", "jti": "my-jti", "keytype": "SANDBOX", "consumerKey": "ck"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if d := exp.Sub(iat.Time); d != 5*time.Minute {
		t.Errorf("exp - iat = %s, want 5m", d)
	}
}

func TestSignErrors(t *testing.T) {
	key := rsaKey(t)
	if _, err := Sign(key, "", Claims{TTL: -time.Second}); err == nil {
		t.Error("negative ttl accepted")
	}
	if _, err := Sign(key, "", Claims{KeyType: "STAGING"}); err == nil {
		t.Error("unknown key type accepted")
	}
	if _, err := Sign(nil, "", Claims{}); err == nil {
		t.Error("nil key accepted")
	}
}

func TestSignECDSA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Sign(key, "ec", Claims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed, _ := parse(t, tok, &key.PublicKey); parsed.Header["alg"] != "ES256" {
		t.Errorf("alg = %v, want ES256", parsed.Header["alg"])
	}
}

func TestLoadKeyPKCS8(t *testing.T) {
	key := rsaKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "issuer.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(got) {
		t.Error("loaded key differs from the written one")
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing.key")); err == nil {
		t.Error("missing file accepted")
	}
	if _, err := ParseKey([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")); err == nil {
		t.Error("a PEM without a private key accepted")
	}
}

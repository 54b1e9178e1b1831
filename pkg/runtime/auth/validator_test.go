package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

func TestValidTokens(t *testing.T) {
	for _, kt := range []struct {
		name string
		kt   authtest.KeyType
	}{{"RS256", authtest.RSA}, {"ES256", authtest.ECDSA}, {"EdDSA", authtest.Ed25519}} {
		t.Run(kt.name, func(t *testing.T) {
			iss := authtest.NewIssuer(t, authtest.WithKeyType(kt.kt))
			v := newValidator(t, iss.Config(), newClock())
			tok := iss.Token(t, map[string]any{
				"jti": "j-1", "scope": "read write", "keytype": "sandbox",
				"subscribedAPIs": []any{map[string]any{"name": "Pets", "version": "1.0", "context": "/pets/1.0", "subscriptionTier": "Gold"}},
			})
			c, err := v.Validate(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "admin" || c.JTI != "j-1" || c.Issuer != iss.Name || c.KeyType != "SANDBOX" {
				t.Errorf("claims = %+v", c)
			}
			if len(c.Audience) != 1 || c.Audience[0] != iss.Audience {
				t.Errorf("aud = %v", c.Audience)
			}
			if !c.HasScopes([]string{"write", "read"}) || c.HasScopes([]string{"admin"}) {
				t.Errorf("scopes = %v", c.Scopes)
			}
			if len(c.SubscribedAPIs) != 1 || c.SubscribedAPIs[0] != (SubscribedAPI{"Pets", "1.0", "/pets/1.0", "Gold"}) {
				t.Errorf("subscribedAPIs = %v", c.SubscribedAPIs)
			}
			if c.ExpiresAt.IsZero() || c.IssuedAt.IsZero() || c.NotBefore.IsZero() {
				t.Errorf("times = %v %v %v", c.ExpiresAt, c.IssuedAt, c.NotBefore)
			}
		})
	}
}

func TestValidVariants(t *testing.T) {
	iss := authtest.NewIssuer(t)
	clk := newClock()
	cfg := iss.Config()
	cfg.Caching.Enabled = false
	v := newValidator(t, cfg, clk)
	ctx := context.Background()
	now := clk.Now()
	cases := map[string]string{
		"PS256 with the RSA key":       craft(t, map[string]any{"alg": "PS256"}, iss.Claims(), jwt.SigningMethodPS256, iss.Key),
		"RS512":                        craft(t, map[string]any{"alg": "RS512", "typ": "JWT"}, iss.Claims(), jwt.SigningMethodRS512, iss.Key),
		"aud array containing ours":    iss.Token(t, map[string]any{"aud": []string{"other", iss.Audience}}),
		"expired within the skew":      iss.Token(t, map[string]any{"exp": now.Add(-30 * time.Second).Unix()}),
		"nbf ahead within the skew":    iss.Token(t, map[string]any{"nbf": now.Add(30 * time.Second).Unix()}),
		"scope as an array":            iss.Token(t, map[string]any{"scope": []string{"a", "b"}}),
		"fractional exp":               iss.Token(t, map[string]any{"exp": float64(now.Add(time.Hour).Unix()) + 0.5}),
		"no kid header with cert":      iss.Sign(t, iss.Claims(), map[string]any{"kid": nil}),
		"kid of no alias (ignored)":    iss.Sign(t, iss.Claims(), map[string]any{"kid": "whatever"}),
		"no iat no nbf":                iss.Token(t, map[string]any{"iat": nil, "nbf": nil}),
		"unknown extra claims ignored": iss.Token(t, map[string]any{"foo": map[string]any{"bar": 1}}),
		"exp in exponent notation": craft(t, map[string]any{"alg": "RS256"}, `{"iss":"`+iss.Name+`","aud":"`+iss.Audience+`","sub":"a","jti":"j","exp":`+
			strconv.FormatFloat(float64(now.Add(time.Hour).Unix()), 'e', -1, 64)+`}`, jwt.SigningMethodRS256, iss.Key),
		"jti of the longest a revocation takes": iss.Token(t, map[string]any{"jti": strings.Repeat("j", revocation.MaxJTILength)}),
		"sub with inner spaces":                 iss.Token(t, map[string]any{"sub": "John Smith"}),
		"jti in non-ASCII letters":              iss.Token(t, map[string]any{"jti": "é-ü-日本"}),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBadTokens(t *testing.T) {
	dir := t.TempDir()
	iss := authtest.NewIssuer(t, authtest.WithTrustStore(dir))
	other := authtest.NewIssuer(t, authtest.WithTrustStore(dir), authtest.WithAlias("other"), authtest.WithName("https://other/token"))
	ec := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA), authtest.WithTrustStore(dir), authtest.WithAlias("ec"), authtest.WithName("https://ec/token"))
	ed := authtest.NewIssuer(t, authtest.WithKeyType(authtest.Ed25519), authtest.WithTrustStore(dir), authtest.WithAlias("ed"), authtest.WithName("https://ed/token"))
	attacker := authtest.NewIssuer(t, authtest.WithAlias(iss.Alias)) // same alias and name, its own store
	cfg := iss.Config()
	cfg.JWT = append(cfg.JWT, other.JWTConfig(), ec.JWTConfig(), ed.JWTConfig())
	clk := newClock()
	var logs logBuffer
	v, err := New(cfg, Options{Logger: logs.logger(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()

	pubPEM, _ := os.ReadFile(filepath.Join(dir, iss.Alias+".pem"))
	rsaHdr := map[string]any{"alg": "RS256", "typ": "JWT", "kid": iss.Alias}
	valid := iss.Token(t, nil)
	parts := strings.Split(valid, ".")
	flip := func(s string) string {
		b := []byte(s)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	attackerJWK := map[string]any{"kty": "RSA", "n": seg(string(attacker.Key.Public().(*rsa.PublicKey).N.Bytes())), "e": "AQAB"}
	dupPayload := `{"iss":"` + iss.Name + `","aud":"` + iss.Audience + `","sub":"admin","sub":"root","jti":"j","exp":` +
		itoa(now.Add(time.Hour).Unix()) + `}`
	// raw is a payload of iss written by hand, for what json.Marshal cannot
	// write: exp as given ("" for in an hour), then the extra members.
	signed := func(payload string) string { return craft(t, rsaHdr, payload, jwt.SigningMethodRS256, iss.Key) }
	raw := func(exp, extra string) string {
		if exp == "" {
			exp = itoa(now.Add(time.Hour).Unix())
		}
		return signed(`{"iss":"` + iss.Name + `","aud":"` + iss.Audience + `","sub":"admin","jti":"j-raw","exp":` + exp + extra + `}`)
	}
	withSig := func(tok string, sig []byte) string {
		p := strings.Split(tok, ".")
		return p[0] + "." + p[1] + "." + b64u(sig)
	}
	sigOf := func(tok string) []byte {
		b, err := b64.DecodeString(strings.Split(tok, ".")[2])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// nonCanonical sets an unused low bit of the last character: the same
	// bytes for a lax decoder, a refusal for a strict one (RFC 7515 section 2).
	nonCanonical := func(seg string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		if len(seg)%4 == 0 {
			t.Fatalf("a segment of %d characters has no unused bits", len(seg))
		}
		return seg[:len(seg)-1] + string(alphabet[strings.IndexByte(alphabet, seg[len(seg)-1])|1])
	}
	ecTok, edTok := ec.Token(t, nil), ed.Token(t, nil)
	p256N := make([]byte, 32)
	ec.Key.(*ecdsa.PrivateKey).Curve.Params().N.FillBytes(p256N)
	edSig := sigOf(edTok)
	sPlusL := new(big.Int).SetBytes(reversed(edSig[32:]))
	sPlusL.Add(sPlusL, ed25519L)
	edMalleated := append(slices.Clone(edSig[:32]), reversed(sPlusL.FillBytes(make([]byte, 32)))...)
	identityR := make([]byte, 64)
	identityR[0] = 1
	ecDigest := sha256.Sum256([]byte(strings.Join(strings.Split(ecTok, ".")[:2], ".")))
	der, err := ecdsa.SignASN1(rand.Reader, ec.Key.(*ecdsa.PrivateKey), ecDigest[:])
	if err != nil {
		t.Fatal(err)
	}
	b64False := seg(map[string]any{"alg": "RS256", "b64": false}) + "." + `{"iss":"` + iss.Name + `"}`
	b64FalseSig, _ := jwt.SigningMethodRS256.Sign(b64False, iss.Key)

	cases := []struct {
		name   string
		token  string
		code   int
		reason string
	}{
		{"alg none", craft(t, map[string]any{"alg": "none", "typ": "JWT"}, iss.Claims(), nil, nil), 900901, ReasonBadAlg},
		{"alg None", craft(t, map[string]any{"alg": "None"}, iss.Claims(), nil, nil), 900901, ReasonBadAlg},
		{"HS256 keyed with the RSA public key", craft(t, map[string]any{"alg": "HS256", "kid": iss.Alias}, iss.Claims(), jwt.SigningMethodHS256, pubPEM), 900901, ReasonBadAlg},
		{"no alg", craft(t, map[string]any{"typ": "JWT"}, iss.Claims(), jwt.SigningMethodRS256, iss.Key), 900901, ReasonBadAlg},
		{"tampered payload", parts[0] + "." + seg(claimsWith(iss, map[string]any{"sub": "root"})) + "." + parts[2], 900901, ReasonBadSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), 900901, ReasonBadSignature},
		{"signature stripped", parts[0] + "." + parts[1] + ".", 900901, ReasonBadSignature},
		{"signed by an untrusted key", attacker.Token(t, nil), 900901, ReasonBadSignature},
		{"wrong iss", iss.Token(t, map[string]any{"iss": "https://evil/token"}), 900901, ReasonUnknownIssuer},
		{"iss of another trusted issuer", iss.Token(t, map[string]any{"iss": other.Name, "aud": other.Audience}), 900901, ReasonBadSignature},
		{"kid of another trusted key", other.Sign(t, claimsWith(iss, nil), map[string]any{"kid": iss.Alias}), 900901, ReasonBadSignature},
		{"wrong aud", iss.Token(t, map[string]any{"aud": "http://elsewhere"}), 900901, ReasonBadAudience},
		{"wrong aud array", iss.Token(t, map[string]any{"aud": []string{"a", "b"}}), 900901, ReasonBadAudience},
		{"expired", iss.Token(t, map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}), 900901, ReasonExpired},
		{"nbf in the future", iss.Token(t, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}), 900901, ReasonNotYetValid},
		{"missing jti", iss.Token(t, map[string]any{"jti": nil}), 900901, ReasonMissingClaim},
		{"empty jti", iss.Token(t, map[string]any{"jti": ""}), 900901, ReasonMissingClaim},
		{"missing sub", iss.Token(t, map[string]any{"sub": nil}), 900901, ReasonMissingClaim},
		{"missing exp", iss.Token(t, map[string]any{"exp": nil}), 900901, ReasonMissingClaim},
		{"missing aud", iss.Token(t, map[string]any{"aud": nil}), 900901, ReasonMissingClaim},
		{"missing iss", iss.Token(t, map[string]any{"iss": nil}), 900901, ReasonMissingClaim},
		{"three segments of garbage", "abc.def.ghi", 900901, ReasonMalformed},
		{"garbage with dots", "...", 900901, ReasonMalformed},
		{"empty", "", 900901, ReasonMalformed},
		{"64 KB", parts[0] + "." + strings.Repeat("A", 64<<10) + "." + parts[2], 900901, ReasonTooLarge},
		{"two segments", parts[0] + "." + parts[1], 900901, ReasonMalformed},
		{"four segments", valid + ".x", 900901, ReasonMalformed},
		{"JWE-like five segments", "a.b.c.d.e", 900901, ReasonMalformed},
		{"JWS JSON serialisation", `{"payload":"` + parts[1] + `","signatures":[{"protected":"` + parts[0] + `","signature":"` + parts[2] + `"}]}`, 900901, ReasonMalformed},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], 900901, ReasonMalformed},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(parts[0]) + "+." + parts[1] + "." + parts[2], 900901, ReasonMalformed},
		{"header not JSON", seg("not json") + "." + parts[1] + "." + parts[2], 900901, ReasonMalformed},
		{"payload a JSON array", craft(t, rsaHdr, `[1,2]`, jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"payload with trailing data", craft(t, rsaHdr, `{"sub":"a"} {}`, jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"aud as number", iss.Token(t, map[string]any{"aud": 42}), 900901, ReasonBadClaim},
		{"aud array with a number", iss.Token(t, map[string]any{"aud": []any{iss.Audience, 1}}), 900901, ReasonBadClaim},
		{"exp as string", iss.Token(t, map[string]any{"exp": itoa(now.Add(time.Hour).Unix())}), 900901, ReasonBadClaim},
		{"huge exp", iss.Token(t, map[string]any{"exp": 1e300}), 900901, ReasonBadClaim},
		{"exp past int64", craft(t, rsaHdr, `{"iss":"`+iss.Name+`","exp":99999999999999999999999}`, jwt.SigningMethodRS256, iss.Key), 900901, ReasonBadClaim},
		{"negative nbf", iss.Token(t, map[string]any{"nbf": -1}), 900901, ReasonBadClaim},
		{"sub as number", iss.Token(t, map[string]any{"sub": 7}), 900901, ReasonBadClaim},
		{"scope as number", iss.Token(t, map[string]any{"scope": 7}), 900901, ReasonBadClaim},
		{"iss as array", iss.Token(t, map[string]any{"iss": []string{iss.Name}}), 900901, ReasonBadClaim},
		{"duplicate claims", craft(t, rsaHdr, dupPayload, jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"duplicate header", craft(t, `{"alg":"RS256","alg":"none"}`, iss.Claims(), jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"jku header pointing elsewhere", attacker.Sign(t, attacker.Claims(), map[string]any{"jku": "https://evil.example/jwks.json"}), 900901, ReasonBadSignature},
		{"x5u header pointing elsewhere", attacker.Sign(t, attacker.Claims(), map[string]any{"x5u": "https://evil.example/cert.pem"}), 900901, ReasonBadSignature},
		{"embedded jwk header", attacker.Sign(t, attacker.Claims(), map[string]any{"jwk": attackerJWK}), 900901, ReasonBadSignature},
		{"crit header", iss.Sign(t, iss.Claims(), map[string]any{"crit": []string{"exp"}, "exp": 1}), 900901, ReasonBadHeader},
		{"b64 false", iss.Sign(t, iss.Claims(), map[string]any{"crit": []string{"b64"}, "b64": false}), 900901, ReasonBadHeader},
		{"kid as number", iss.Sign(t, iss.Claims(), map[string]any{"kid": 5}), 900901, ReasonBadHeader},
		{"ES256 token against the RSA key", craft(t, map[string]any{"alg": "ES256", "kid": iss.Alias}, iss.Claims(), jwt.SigningMethodES256, ec.Key), 900901, ReasonBadAlg},
		{"RS256 token against the EC key", craft(t, map[string]any{"alg": "RS256"}, claimsWith(ec, nil), jwt.SigningMethodRS256, iss.Key), 900901, ReasonBadAlg},
		{"ES384 against a P-256 key", craft(t, map[string]any{"alg": "ES384"}, claimsWith(ec, nil), jwt.SigningMethodES384, mustEC(t, elliptic.P384())), 900901, ReasonBadAlg},
		{"EdDSA against the RSA key", craft(t, map[string]any{"alg": "EdDSA"}, iss.Claims(), nil, nil) + "AAAA", 900901, ReasonBadAlg},

		{"HS256 keyed with the DER public key", craft(t, map[string]any{"alg": "HS256"}, iss.Claims(), jwt.SigningMethodHS256, derOf(t, pubPEM)), 900901, ReasonBadAlg},
		{"HS512 keyed with the PEM public key", craft(t, map[string]any{"alg": "HS512"}, iss.Claims(), jwt.SigningMethodHS512, pubPEM), 900901, ReasonBadAlg},
		{"kid null", iss.Sign(t, iss.Claims(), map[string]any{"kid": json.RawMessage("null")}), 900901, ReasonBadHeader},
		{"kid an object", iss.Sign(t, iss.Claims(), map[string]any{"kid": map[string]any{"$ne": ""}}), 900901, ReasonBadHeader},
		{"kid path traversal, untrusted key", attacker.Sign(t, iss.Claims(), map[string]any{"kid": "../../../../../dev/null"}), 900901, ReasonBadSignature},
		{"kid SQL, untrusted key", attacker.Sign(t, iss.Claims(), map[string]any{"kid": "x' UNION SELECT 'secret' --"}), 900901, ReasonBadSignature},
		{"kid of 8 KB, untrusted key", attacker.Sign(t, iss.Claims(), map[string]any{"kid": strings.Repeat("k", 8<<10)}), 900901, ReasonBadSignature},
		{"embedded x5c of the attacker", attacker.Sign(t, iss.Claims(), map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(attacker.Cert.Raw)}}), 900901, ReasonBadSignature},
		{"crit empty", iss.Sign(t, iss.Claims(), map[string]any{"crit": []string{}}), 900901, ReasonBadHeader},
		{"crit a string", iss.Sign(t, iss.Claims(), map[string]any{"crit": "b64"}), 900901, ReasonBadHeader},
		{"b64 false without crit, unencoded payload", b64False + "." + b64u(b64FalseSig), 900901, ReasonMalformed},
		{"JWE header, five segments", seg(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM"}) + ".a.b.c.d", 900901, ReasonMalformed},
		{"JWS JSON flattened", `{"protected":"` + parts[0] + `","payload":"` + parts[1] + `","signature":"` + parts[2] + `"}`, 900901, ReasonMalformed},
		{"leading dot", "." + valid, 900901, ReasonMalformed},
		{"trailing dot", valid + ".", 900901, ReasonMalformed},
		{"empty payload segment", parts[0] + ".." + parts[2], 900901, ReasonMalformed},
		{"padded signature", valid + "==", 900901, ReasonMalformed},
		{"padded payload", parts[0] + "." + parts[1] + "==." + parts[2], 900901, ReasonMalformed},
		{"standard alphabet in the signature", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+/", 900901, ReasonMalformed},
		{"non-canonical last character of the signature", parts[0] + "." + parts[1] + "." + nonCanonical(parts[2]), 900901, ReasonMalformed},
		{"line feed in the signature", parts[0] + "." + parts[1] + "." + parts[2][:20] + "\n" + parts[2][20:], 900901, ReasonMalformed},
		{"CR LF in the payload", parts[0] + "." + parts[1][:8] + "\r\n" + parts[1][8:] + "." + parts[2], 900901, ReasonMalformed},
		{"space in the token", parts[0] + ". " + parts[1] + "." + parts[2], 900901, ReasonMalformed},
		{"duplicate claim spelt with an escape", raw("", `,"j\u0074i":"other"`), 900901, ReasonMalformed},
		{"claim names differing in case (JTI)", raw("", `,"JTI":"decoy"`), 900901, ReasonMalformed},
		{"claim names differing in case (EXP)", raw("", `,"EXP":1`), 900901, ReasonMalformed},
		{"claim name with a long s (ſub)", raw("", `,"\u017fub":"root"`), 900901, ReasonMalformed},
		{"header names differing in case (ALG)", craft(t, `{"alg":"RS256","ALG":"none"}`, iss.Claims(), jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"header name with a Kelvin sign (Kid)", craft(t, `{"alg":"RS256","kid":"a","\u212aid":"b"}`, iss.Claims(), jwt.SigningMethodRS256, iss.Key), 900901, ReasonMalformed},
		{"jti white space", iss.Token(t, map[string]any{"jti": " "}), 900901, ReasonBadClaim},
		{"jti with a leading space", iss.Token(t, map[string]any{"jti": " j-1"}), 900901, ReasonBadClaim},
		{"jti with an inner space", iss.Token(t, map[string]any{"jti": "j 1"}), 900901, ReasonBadClaim},
		{"jti with a trailing tab", iss.Token(t, map[string]any{"jti": "j-1\t"}), 900901, ReasonBadClaim},
		{"jti with NUL", iss.Token(t, map[string]any{"jti": "j\x00-1"}), 900901, ReasonBadClaim},
		{"jti with a line feed", iss.Token(t, map[string]any{"jti": "j\n1"}), 900901, ReasonBadClaim},
		{"jti longer than a revocation takes", iss.Token(t, map[string]any{"jti": strings.Repeat("j", revocation.MaxJTILength+1)}), 900901, ReasonBadClaim},
		{"jti a number", iss.Token(t, map[string]any{"jti": 7}), 900901, ReasonBadClaim},
		{"jti an array", iss.Token(t, map[string]any{"jti": []string{"a"}}), 900901, ReasonBadClaim},
		{"jti an object", iss.Token(t, map[string]any{"jti": map[string]any{}}), 900901, ReasonBadClaim},
		{"jti null", signed(`{"iss":"` + iss.Name + `","aud":"` + iss.Audience + `","sub":"a","jti":null,"exp":` + itoa(now.Add(time.Hour).Unix()) + `}`), 900901, ReasonBadClaim},
		{"jti true", iss.Token(t, map[string]any{"jti": true}), 900901, ReasonBadClaim},
		{"sub with a control character", iss.Token(t, map[string]any{"sub": "admin\u0085"}), 900901, ReasonBadClaim},
		{"sub longer than a rule takes", iss.Token(t, map[string]any{"sub": strings.Repeat("s", revocation.MaxRuleKeyLength+1)}), 900901, ReasonBadClaim},
		{"azp with a control character", iss.Token(t, map[string]any{"azp": "app\x7f"}), 900901, ReasonBadClaim},
		{"exp 1e400", raw("1e400", ""), 900901, ReasonBadClaim},
		{"exp negative", iss.Token(t, map[string]any{"exp": -1}), 900901, ReasonBadClaim},
		{"exp minus zero", raw("-0", ""), 900901, ReasonExpired},
		{"exp in exponent notation, past", raw("1.5e3", ""), 900901, ReasonExpired},
		{"exp after year 9999", raw("253402300800", ""), 900901, ReasonBadClaim},
		{"exp NaN as a string", iss.Token(t, map[string]any{"exp": "NaN"}), 900901, ReasonBadClaim},
		{"exp NaN literal", raw("NaN", ""), 900901, ReasonMalformed},
		{"exp with a leading zero", raw("0"+itoa(now.Add(time.Hour).Unix()), ""), 900901, ReasonMalformed},
		{"exp true", iss.Token(t, map[string]any{"exp": true}), 900901, ReasonBadClaim},
		{"exp an array", iss.Token(t, map[string]any{"exp": []int64{now.Add(time.Hour).Unix()}}), 900901, ReasonBadClaim},
		{"nbf as a string", iss.Token(t, map[string]any{"nbf": itoa(now.Unix())}), 900901, ReasonBadClaim},
		{"iat as a string", iss.Token(t, map[string]any{"iat": itoa(now.Unix())}), 900901, ReasonBadClaim},
		{"iat huge", iss.Token(t, map[string]any{"iat": 1e19}), 900901, ReasonBadClaim},
		{"aud nested array", iss.Token(t, map[string]any{"aud": []any{[]any{iss.Audience}}}), 900901, ReasonBadClaim},
		{"aud an object", iss.Token(t, map[string]any{"aud": map[string]any{iss.Audience: true}}), 900901, ReasonBadClaim},
		{"aud null", signed(`{"iss":"` + iss.Name + `","aud":null,"sub":"a","jti":"j","exp":` + itoa(now.Add(time.Hour).Unix()) + `}`), 900901, ReasonBadClaim},
		{"aud empty array", iss.Token(t, map[string]any{"aud": []string{}}), 900901, ReasonMissingClaim},
		{"aud empty string", iss.Token(t, map[string]any{"aud": ""}), 900901, ReasonMissingClaim},
		{"aud in upper case", iss.Token(t, map[string]any{"aud": strings.ToUpper(iss.Audience)}), 900901, ReasonBadAudience},
		{"aud with a trailing slash", iss.Token(t, map[string]any{"aud": iss.Audience + "/"}), 900901, ReasonBadAudience},
		{"iss with a trailing slash", iss.Token(t, map[string]any{"iss": iss.Name + "/"}), 900901, ReasonUnknownIssuer},
		{"iss in upper case", iss.Token(t, map[string]any{"iss": strings.ToUpper(iss.Name)}), 900901, ReasonUnknownIssuer},
		{"iss with a trailing NUL", iss.Token(t, map[string]any{"iss": iss.Name + "\x00"}), 900901, ReasonUnknownIssuer},
		{"iss empty", iss.Token(t, map[string]any{"iss": ""}), 900901, ReasonUnknownIssuer},
		{"payload nested 5000 deep", craft(t, rsaHdr, `{"iss":"`+iss.Name+`","x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`, jwt.SigningMethodRS256, attacker.Key), 900901, ReasonBadSignature},
		{"ES256 r = s = 0 (psychic signature)", withSig(ecTok, make([]byte, 64)), 900901, ReasonBadSignature},
		{"ES256 r = s = n", withSig(ecTok, append(slices.Clone(p256N), p256N...)), 900901, ReasonBadSignature},
		{"ES256 r = 0, s kept", withSig(ecTok, append(make([]byte, 32), sigOf(ecTok)[32:]...)), 900901, ReasonBadSignature},
		{"ES256 signature in DER", withSig(ecTok, der), 900901, ReasonBadSignature},
		{"ES256 signature with a byte more", withSig(ecTok, append(sigOf(ecTok), 0)), 900901, ReasonBadSignature},
		{"EdDSA S + L (non-canonical)", withSig(edTok, edMalleated), 900901, ReasonBadSignature},
		{"EdDSA all zero", withSig(edTok, make([]byte, 64)), 900901, ReasonBadSignature},
		{"EdDSA R = identity, S = 0", withSig(edTok, identityR), 900901, ReasonBadSignature},
		{"RS256 signature with a leading zero byte", withSig(valid, append([]byte{0}, sigOf(valid)...)), 900901, ReasonBadSignature},
		{"PS256 signature under an RS256 header", withSig(valid, sigOf(craft(t, rsaHdr, parts[1], jwt.SigningMethodPS256, iss.Key))), 900901, ReasonBadSignature},
	}
	for _, alg := range []any{"rs256", "Rs256", "RS256 ", " RS256", "RS256\x00", "NONE", "nOnE", "none ", "HS256", "hs256", "ES256K", "RSA-OAEP", "dir", "", 256, nil, []string{"RS256"}, map[string]string{"alg": "RS256"}} {
		cases = append(cases, struct {
			name   string
			token  string
			code   int
			reason string
		}{fmt.Sprintf("alg %q", alg), craft(t, map[string]any{"alg": alg}, iss.Claims(), jwt.SigningMethodRS256, iss.Key), 900901, ReasonBadAlg})
	}
	if len(cases) < 20 {
		t.Fatal("the table must keep at least 20 bad tokens")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(context.Background(), tc.token)
			wantErr(t, err, tc.code, tc.reason)
			authtest.NoTokenIn(t, "the error", err.Error(), tc.token, valid)
		})
	}
	// The refusals must not have filled the cache.
	if n := v.cache.len(); n != 0 {
		t.Errorf("cache holds %d refused tokens", n)
	}
	out := logs.String()
	for _, tc := range cases {
		authtest.NoTokenIn(t, "the log", out, tc.token)
	}
}

// ed25519L is the order of the Ed25519 base point.
var ed25519L, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

func reversed(b []byte) []byte {
	r := slices.Clone(b)
	slices.Reverse(r)
	return r
}

func derOf(t *testing.T, pemBytes []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(pemBytes)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func mustEC(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTokenFromRequest(t *testing.T) {
	cases := []struct {
		name   string
		header map[string][]string
		tok    string
		code   int
		reason string
	}{
		{"bearer", map[string][]string{"Authorization": {"Bearer abc.def.ghi"}}, "abc.def.ghi", 0, ""},
		{"scheme case-insensitive", map[string][]string{"Authorization": {"bEaReR   abc"}}, "abc", 0, ""},
		{"tab separator", map[string][]string{"Authorization": {"Bearer\tabc"}}, "abc", 0, ""},
		{"no header", map[string][]string{}, "", 900902, ReasonMissing},
		{"empty header", map[string][]string{"Authorization": {"  "}}, "", 900902, ReasonMissing},
		{"two headers", map[string][]string{"Authorization": {"Bearer a", "Bearer b"}}, "", 900901, ReasonMalformed},
		{"basic scheme", map[string][]string{"Authorization": {"Basic YWRtaW46YWRtaW4="}}, "", 900901, ReasonBadScheme},
		{"no scheme", map[string][]string{"Authorization": {"abc.def.ghi"}}, "", 900901, ReasonBadScheme},
		{"empty token", map[string][]string{"Authorization": {"Bearer   "}}, "", 900901, ReasonMalformed},
		{"bare Bearer", map[string][]string{"Authorization": {"Bearer"}}, "", 900901, ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, e := TokenFromRequest(tc.header, "Authorization")
			if tc.code == 0 {
				if e != nil || tok != tc.tok {
					t.Fatalf("got %q %v; want %q", tok, e, tc.tok)
				}
				return
			}
			if e == nil || e.Code != tc.code || e.Reason != tc.reason || tok != "" {
				t.Fatalf("got %q %+v; want %d %s", tok, e, tc.code, tc.reason)
			}
		})
	}
	// A custom header name, given in any case.
	tok, e := TokenFromRequest(map[string][]string{"X-Jwt-Assertion": {"Bearer t"}}, "x-jwt-assertion")
	if e != nil || tok != "t" {
		t.Fatalf("custom header: %q %v", tok, e)
	}
}

func TestCacheNotServedAfterExp(t *testing.T) {
	iss := authtest.NewIssuer(t)
	clk := newClock()
	reg := prometheus.NewRegistry()
	v, err := New(iss.Config(), Options{Logger: quietLogger(), Now: clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := iss.Token(t, map[string]any{"exp": clk.Now().Add(90 * time.Second).Unix()})
	c1, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Validate(ctx, tok)
	if err != nil || c2 != c1 {
		t.Fatalf("second validation not from the cache: %v", err)
	}
	if h := counter(t, v.hits); h != 1 {
		t.Fatalf("hits = %v", h)
	}
	// Past exp but within the skew: the cache must not answer, the full
	// validation does (and accepts, by the skew).
	clk.Advance(91 * time.Second)
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if h, m := counter(t, v.hits), counter(t, v.misses); h != 1 || m != 2 {
		t.Fatalf("after exp: hits %v misses %v; want 1 2", h, m)
	}
	clk.Advance(time.Minute)
	_, err = v.Validate(ctx, tok)
	wantErr(t, err, 900901, ReasonExpired)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	if !names["microgw_auth_token_cache_hits_total"] || !names["microgw_auth_token_cache_misses_total"] || !names["microgw_auth_token_cache_entries"] {
		t.Errorf("registered metrics = %v", names)
	}
}

func TestCacheExpiryTime(t *testing.T) {
	iss := authtest.NewIssuer(t)
	clk := newClock()
	cfg := iss.Config()
	cfg.Caching.TokenCacheExpiryTime = time.Minute
	v := newValidator(t, cfg, clk)
	tok := iss.Token(t, nil)
	for range 2 {
		if _, err := v.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if h, m := counter(t, v.hits), counter(t, v.misses); h != 1 || m != 2 {
		t.Fatalf("hits %v misses %v; want 1 2", h, m)
	}
}

func TestCacheCapacity(t *testing.T) {
	iss := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA))
	clk := newClock()
	cfg := iss.Config()
	cfg.Caching.TokenCacheCapacity = 3
	v := newValidator(t, cfg, clk)
	ctx := context.Background()
	var toks []string
	for range 5 {
		tok := iss.Token(t, nil)
		toks = append(toks, tok)
		if _, err := v.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.cache.len(); n != 3 {
		t.Fatalf("cache len = %d; want 3", n)
	}
	// The oldest were evicted, the newest kept.
	for i, tok := range toks {
		_, hit := v.cache.get(tok, clk.Now())
		if want := i >= 2; hit != want {
			t.Errorf("token %d cached = %v; want %v", i, hit, want)
		}
	}

	// A sharded cache keeps its bound too.
	c := newTokenCache(2000, time.Hour)
	claims := &Claims{ExpiresAt: clk.Now().Add(time.Hour)}
	for i := range 5000 {
		c.putUntil(authtest.NewJTI()+itoa(int64(i)), claims, claims.ExpiresAt, clk.Now())
	}
	if n := c.len(); n > 2000 || n < 1900 {
		t.Fatalf("sharded cache len = %d; want <= 2000 and near it", n)
	}
}

// TestCacheKeyIsWholeToken checks that two tokens that differ only in the
// signature are not confused by the cache.
func TestCacheKeyIsWholeToken(t *testing.T) {
	iss := authtest.NewIssuer(t)
	v := newValidator(t, iss.Config(), newClock())
	tok := iss.Token(t, nil)
	if _, err := v.Validate(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig := []byte(parts[2])
	// Stay in the base64url alphabet, so that only the signature is wrong.
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	_, err := v.Validate(context.Background(), parts[0]+"."+parts[1]+"."+string(sig))
	wantErr(t, err, 900901, ReasonBadSignature)
}

// With tokenTypes set, only tokens whose typ header names one of them pass
// (RFC 8725 3.11): an ID token signed by the same key is no access token.
func TestTokenTypes(t *testing.T) {
	iss := authtest.NewIssuer(t)
	cfg := iss.Config()
	cfg.JWT[0].TokenTypes = []string{"at+jwt"}
	v := newValidator(t, cfg, newClock())
	for _, typ := range []any{"at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"} {
		if _, err := v.Validate(context.Background(), iss.Sign(t, iss.Claims(), map[string]any{"typ": typ})); err != nil {
			t.Errorf("typ %v refused: %v", typ, err)
		}
	}
	for _, typ := range []any{"JWT", nil, "", "at+jwt ", "application/jwt", "text/at+jwt", "at+jwt/x", 1, []any{"at+jwt"}} {
		_, err := v.Validate(context.Background(), iss.Sign(t, iss.Claims(), map[string]any{"typ": typ}))
		t.Run(fmt.Sprintf("typ %#v", typ), func(t *testing.T) { wantErr(t, err, 900901, ReasonBadHeader) })
	}

	// Unset, as in the WSO2 gateway: any typ, or none.
	open := newValidator(t, iss.Config(), newClock())
	for _, typ := range []any{"JWT", nil, "id+jwt"} {
		if _, err := open.Validate(context.Background(), iss.Sign(t, iss.Claims(), map[string]any{"typ": typ})); err != nil {
			t.Errorf("typ %v refused without tokenTypes: %v", typ, err)
		}
	}
}

func TestValidateSubscription(t *testing.T) {
	iss := authtest.NewIssuer(t)
	cfg := iss.Config()
	cfg.JWT[0].ValidateSubscription = true
	v := newValidator(t, cfg, newClock())
	tok := iss.Token(t, map[string]any{"subscribedAPIs": []any{map[string]any{"name": "Pets", "version": "1.0.0", "context": "/pets"}}})
	c, err := v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if e := v.ValidateSubscription(c, "Pets", "1.0.0"); e != nil {
		t.Errorf("subscribed: %v", e)
	}
	for _, api := range [][2]string{{"Pets", "2.0.0"}, {"Stores", "1.0.0"}} {
		e := v.ValidateSubscription(c, api[0], api[1])
		if e == nil || e.Code != CodeForbidden || e.Reason != ReasonNotSubscribed {
			t.Errorf("%v: got %v; want 900908", api, e)
		}
	}
	cfg2 := iss.Config()
	v2 := newValidator(t, cfg2, newClock())
	if e := v2.ValidateSubscription(c, "Stores", "1"); e != nil {
		t.Errorf("check off: %v", e)
	}
}

func TestTrustStorePublicKeyPEM(t *testing.T) {
	iss := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA))
	der, err := x509.MarshalPKIXPublicKey(iss.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pk.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	// A stray unreadable file that no issuer refers to is skipped.
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := iss.Config()
	cfg.Listener.TrustStorePath = dir
	cfg.JWT[0].CertificateAlias = "pk"
	v := newValidator(t, cfg, newClock())
	if _, err := v.Validate(context.Background(), iss.Token(t, nil)); err != nil {
		t.Fatal(err)
	}
	cfg.JWT[0].CertificateAlias = "junk"
	if _, err := New(cfg, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "junk.pem") {
		t.Fatalf("an unreadable referenced file: %v", err)
	}
	cfg.JWT[0].CertificateAlias = "absent"
	_, err = New(cfg, Options{Logger: quietLogger()})
	var ce *config.Error
	if !errors.As(err, &ce) || ce.Key != "jwtTokenConfig[0].certificateAlias" || !strings.Contains(err.Error(), `"absent"`) {
		t.Fatalf("a missing alias: %v", err)
	}
	cfg.Listener.TrustStorePath = filepath.Join(dir, "nothere")
	_, err = New(cfg, Options{Logger: quietLogger()})
	if !errors.As(err, &ce) || ce.Key != "listenerConfig.trustStorePath" {
		t.Fatalf("a missing trust store: %v", err)
	}
}

func TestSmallRSAKeyRefused(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert := authtest.SelfSigned(t, k, "small")
	if err := os.WriteFile(filepath.Join(dir, "small.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listener.TrustStorePath = dir
	cfg.JWT[0].CertificateAlias = "small"
	if _, err := New(cfg, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Fatalf("1024-bit key: %v", err)
	}
}

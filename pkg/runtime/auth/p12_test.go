package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

func TestPKCS12TrustStore(t *testing.T) {
	a := authtest.NewIssuer(t)
	b := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA), authtest.WithAlias("partner-cn"), authtest.WithName("https://partner/token"))
	entries := []pkcs12.TrustStoreEntry{
		{Cert: a.Cert, FriendlyName: "wso2apim"},
		{Cert: b.Cert, FriendlyName: "partner"}, // alias differs from the CN
	}
	for _, tc := range []struct {
		name     string
		enc      *pkcs12.Encoder
		password string
		aliasB   string // the alias that finds b: its friendly name, or its CN when names cannot be read
	}{
		{"modern AES", pkcs12.Modern, "changeit", "partner"},
		{"unencrypted", pkcs12.Passwordless, "", "partner"},
		{"legacy RC2 falls back to common names", pkcs12.LegacyRC2, "changeit", "partner-cn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tc.enc.EncodeTrustStoreEntries(entries, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "truststore.p12")
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := a.Config()
			cfg.Listener.TrustStorePath = file
			cfg.Listener.TrustStorePassword = tc.password
			jb := b.JWTConfig()
			jb.CertificateAlias = tc.aliasB
			cfg.JWT = append(cfg.JWT, jb)
			if tc.aliasB == "partner-cn" {
				// a's CN is its alias too, so the fallback finds it.
				cfg.JWT[0].CertificateAlias = a.Alias
			}
			v := newValidator(t, cfg, newClock())
			for _, iss := range []*authtest.Issuer{a, b} {
				if _, err := v.Validate(context.Background(), iss.Token(t, nil)); err != nil {
					t.Fatalf("%s: %v", iss.Name, err)
				}
			}
			// The keys are not interchangeable.
			_, err = v.Validate(context.Background(), a.Sign(t, b.Claims(), map[string]any{"alg": "RS256"}))
			wantErr(t, err, 900901, ReasonBadAlg)

			if tc.password != "" {
				cfg.Listener.TrustStorePassword = "wrong"
				if _, err := New(cfg, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "truststore.p12") {
					t.Fatalf("wrong password: %v", err)
				}
			}
		})
	}
}

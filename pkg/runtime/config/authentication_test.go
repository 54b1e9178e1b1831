package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/passwordhash"
)

// TestAuthenticationKeys loads [[apiKeyConfig]], [b7a.users.NAME],
// [mutualSSLConfig] and [keyManager] (docs/configuration.md,
// docs/authentication.md), and refuses bad values at their lines, never
// showing a password hash.
func TestAuthenticationKeys(t *testing.T) {
	bc, err := passwordhash.GenerateBcrypt([]byte("pw"), passwordhash.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	good := minimal + `
[[apiKeyConfig]]
issuer = "https://localhost:9443/apikey"
certificateAlias = "wso2apim"

[b7a.users.alice]
password = "` + bc + `"
scopes = ["read"]

[b7a.users.bob]
password = "@sha256:{5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8}"

[mutualSSLConfig]
sslVerifyClient = "optional"

[keyManager]
introspectionUrl = "https://idp.example/oauth2/introspect"
username = "gateway"
password = "s3cret"
`
	file, _ := writeConf(t, good)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APIKeys) != 1 || c.APIKeys[0].Issuer != "https://localhost:9443/apikey" || c.APIKeys[0].Audience != "" {
		t.Errorf("apiKeyConfig = %+v", c.APIKeys)
	}
	if u := c.B7A.Users["alice"]; u.Password != bc || len(u.Scopes) != 1 || u.Scopes[0] != "read" {
		t.Errorf("alice = %+v", u)
	}
	if c.MutualSSL.SSLVerifyClient != VerifyClientOptional || c.KeyManager.Username != "gateway" || c.KeyManager.Password != "s3cret" {
		t.Errorf("mutualSSLConfig %+v keyManager %+v", c.MutualSSL, c.KeyManager)
	}
	// The unsalted hash is a warning at its line.
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Error(), ":16: b7a.users.bob.password: is the original's unsalted") {
		t.Errorf("warnings = %v", c.Warnings)
	}

	for _, tc := range []struct {
		name, conf, key string
		line            int
		contain         string
	}{
		{"api key issuer without key source", minimal + "[[apiKeyConfig]]\nissuer = \"i\"\n", "apiKeyConfig[0]", 6, "certificateAlias or jwksUrl"},
		{"api key issuer twice", minimal + "[[apiKeyConfig]]\nissuer = \"i\"\ncertificateAlias = \"c\"\n[[apiKeyConfig]]\nissuer = \"i\"\ncertificateAlias = \"c\"\n", "apiKeyConfig[1].issuer", 10, "already trusted by apiKeyConfig[0]"},
		{"api key jwks over http", minimal + "[[apiKeyConfig]]\nissuer = \"i\"\njwksUrl = \"http://idp.example/jwks\"\n", "apiKeyConfig[0].jwksUrl", 8, "https"},
		{"a plain password", minimal + "[b7a.users.alice]\npassword = \"hunter2hunter2\"\n", "b7a.users.alice.password", 7, "not a password hash"},
		{"bcrypt too costly", minimal + "[b7a.users.alice]\npassword = \"$2b$16$" + strings.Repeat("a", 53) + "\"\n", "b7a.users.alice.password", 7, "at most 14"},
		{"no password", minimal + "[b7a.users.alice]\nscopes = [\"a\"]\n", "b7a.users.alice.password", 6, "is required"},
		{"a colon in a username", minimal + "[b7a.users.\"a:b\"]\npassword = \"" + bc + "\"\n", `b7a.users."a:b"`, 6, "no colon"},
		{"verify mode", minimal + "[mutualSSLConfig]\nsslVerifyClient = \"yes\"\n", "mutualSSLConfig.sslVerifyClient", 7, `"optional" or "require"`},
		{"mutual TLS without HTTPS", minimal + "[listenerConfig]\nhttpsPort = 0\n[mutualSSLConfig]\nsslVerifyClient = \"require\"\n", "mutualSSLConfig.sslVerifyClient", 9, "httpsPort = 0"},
		{"introspection over http", minimal + "[keyManager]\nintrospectionUrl = \"http://idp.example/introspect\"\nusername = \"g\"\n", "keyManager.introspectionUrl", 7, "https"},
		{"introspection without client", minimal + "[keyManager]\nintrospectionUrl = \"https://idp.example/introspect\"\n", "keyManager.username", 6, "client id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, _ := writeConf(t, tc.conf)
			_, err := Load(file, nil)
			var e *Error
			if !errors.As(err, &e) || e.Key != tc.key || e.Line != tc.line || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %v (key %q line %d); want key %q line %d containing %q", err, e.Key, e.Line, tc.key, tc.line, tc.contain)
			}
			if strings.Contains(err.Error(), "$2b$16$") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password or its hash: %v", err)
			}
		})
	}
}

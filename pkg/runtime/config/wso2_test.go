package config

import (
	"errors"
	"strings"
	"testing"
)

// A WSO2 3.2 conf's spellings are read as micro-gw's keys where they mean
// the same, each with a warning naming the key to write.
func TestWSO2Spellings(t *testing.T) {
	file, _ := writeConf(t, `
[[jwtTokenConfig]]
issuer = "https://idp/token"
audience = "aud"
jwksURL = "https://idp/jwks"

[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = true
type = "etcd"
endpointURL = "https://127.0.0.1:2379/v2/keys/revoked/"
`)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Revocation.Persistent
	if c.JWT[0].JWKSURL != "https://idp/jwks" || !p.UseDefault || p.Hostname != "https://127.0.0.1:2379/v2/keys/revoked/" {
		t.Fatalf("read %+v %+v", c.JWT[0], p)
	}
	want := []string{
		file + ":5: jwtTokenConfig[0].jwksURL: read as jwtTokenConfig[0].jwksUrl (WSO2 3.2's spelling; write jwksUrl)",
		file + ":10: tokenRevocationConfig.persistent.endpointURL: read as tokenRevocationConfig.persistent.hostname (WSO2 3.2's name of the etcd URL; write hostname)",
		file + `:9: tokenRevocationConfig.persistent.type: read as tokenRevocationConfig.persistent.useDefault (WSO2 3.2's choice of store: "etcd" is useDefault = true, "custom" useDefault = false; write useDefault)`,
	}
	if len(c.Warnings) != len(want) {
		t.Fatalf("warnings %q", c.Warnings)
	}
	for i, w := range c.Warnings {
		if w.Error() != want[i] {
			t.Errorf("warning %d = %q\nwant %q", i, w, want[i])
		}
	}
	if e := c.Fault("tokenRevocationConfig.persistent.hostname", errors.New("x")); e.Key != "tokenRevocationConfig.persistent.endpointURL" || e.Line != 10 {
		t.Errorf("a fault of hostname points at %+v", e)
	}

	// The template WSO2 3.2 wrote: an empty jwksURL beside the alias.
	file, _ = writeConf(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"wso2apim310\"\njwksURL = \"\"\n"+
		"[tokenRevocationConfig.persistent]\ntype = \"custom\"\nrevokedTokensFile = \"x\"\n")
	if c, err := Load(file, nil); err != nil || c.Revocation.Persistent.UseDefault || c.Revocation.Persistent.Settings["revokedTokensFile"] != "x" {
		t.Fatalf("WSO2 3.2 template: %+v %v", c, err)
	}

	// The environment's name of jwksURL is jwksUrl's: no warning.
	file, _ = writeConf(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\n")
	if c, err := LoadSources(Sources{File: file, Env: []string{"MGW_JWTTOKENCONFIG_0_JWKSURL=https://idp/jwks"}}); err != nil || c.JWT[0].JWKSURL != "https://idp/jwks" || len(c.Warnings) != 0 {
		t.Fatalf("MGW_JWTTOKENCONFIG_0_JWKSURL: %+v %v", c, err)
	}
}

// Where a WSO2 3.2 spelling means something micro-gw does not do, it is
// refused naming the micro-gw key to use.
func TestWSO2Refused(t *testing.T) {
	cases := []struct {
		name, conf, key string
		line            int
		contain         string
	}{
		{"API Manager's store", "[tokenRevocationConfig.persistent]\ntype = \"default\"\n", "tokenRevocationConfig.persistent.type", 2, "write useDefault = true for etcd (hostname), or useDefault = false"},
		{"unknown type", "[tokenRevocationConfig.persistent]\ntype = \"redis\"\n", "tokenRevocationConfig.persistent.type", 2, `must be "etcd" or "custom" (WSO2 3.2's type; micro-gw's key is useDefault)`},
		{"type not a string", "[tokenRevocationConfig.persistent]\ntype = true\n", "tokenRevocationConfig.persistent.type", 2, "must be a string"},
		{"API Manager's data service", "[tokenRevocationConfig.persistent]\nendpointURL = \"https://apim:9443/internal/data/v1\"\n", "tokenRevocationConfig.persistent.endpointURL", 2, "give the etcd URL as hostname"},
		{"type against useDefault", "[tokenRevocationConfig.persistent]\nuseDefault = true\ntype = \"custom\"\n", "tokenRevocationConfig.persistent.useDefault", 2, "tokenRevocationConfig.persistent.type (line 3) sets the same key to another value; keep one"},
		{"endpointURL against hostname", "[tokenRevocationConfig.persistent]\nhostname = \"https://a:2379/v2/keys/jti/\"\nendpointURL = \"https://b:2379/v2/keys/jti/\"\n", "tokenRevocationConfig.persistent.hostname", 2, "tokenRevocationConfig.persistent.endpointURL (line 3) sets the same key"},
		{"jwksURL beside certificateAlias", "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\ncertificateAlias = \"c\"\njwksURL = \"https://idp/jwks\"\n", "jwtTokenConfig[0].jwksURL", 5, "certificateAlias and jwksUrl are both set"},
		{"jwksURL and jwksUrl", "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\njwksUrl = \"https://a/jwks\"\njwksURL = \"https://b/jwks\"\n", "jwtTokenConfig[0].jwksUrl", 4, "jwtTokenConfig[0].jwksURL (line 5) sets the same key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conf := tc.conf
			if !strings.Contains(conf, "jwtTokenConfig") {
				conf += minimal
			}
			file, _ := writeConf(t, conf)
			_, err := Load(file, nil)
			var e *Error
			if !errors.As(err, &e) || e.Key != tc.key || e.Line != tc.line || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %v (key %q line %d); want key %q line %d containing %q", err, e.Key, e.Line, tc.key, tc.line, tc.contain)
			}
			if strings.Contains(err.Error(), "apim:9443") {
				t.Errorf("the error shows the URL: %v", err)
			}
		})
	}
}

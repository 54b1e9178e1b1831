package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shapeConf has the shapes of key that later features add (docs/configuration.md),
// so that the engine is shown to carry them before they exist.
type shapeConf struct {
	APIEndpoints map[string]shapeEndpoints `conf:"apiEndpoints"`
	B7A          struct {
		Users map[string]shapeUser `conf:"users"`
	} `conf:"b7a"`
	APIKeys    []shapeIssuer `conf:"apiKeyConfig"`
	Throttling struct {
		Global struct {
			Enabled  bool   `conf:"enabled"`
			RedisURL string `conf:"redisUrl,urlsecret"`
		} `conf:"global"`
		TrustedProxies []string `conf:"trustedProxies"`
	} `conf:"throttlingConfig"`
	Upstream struct {
		ResponseTimeout time.Duration `conf:"responseTimeout,ms"`
		RuleTTL         time.Duration `conf:"ruleTtl,s"`
		Ratio           float64       `conf:"ratio"`
		Codes           []int         `conf:"retryCodes"`
	} `conf:"upstream"`
}

type shapeEndpoints struct {
	Production []string `conf:"production"`
	Sandbox    []string `conf:"sandbox"`
	Type       string   `conf:"type"`
}

func (e *shapeEndpoints) setDefaults() { e.Type = "load_balance" }

type shapeUser struct {
	Password string   `conf:"password,secret"`
	Scopes   []string `conf:"scopes"`
}

type shapeIssuer struct {
	Issuer  string `conf:"issuer"`
	JWKSURL string `conf:"jwksUrl"`
}

func shapeDefaults() *shapeConf {
	d := &shapeConf{}
	d.Upstream.ResponseTimeout = time.Minute
	d.Throttling.Global.RedisURL = "redis://127.0.0.1:6379/0"
	return d
}

var shapeSchema = newSchema(reflect.TypeFor[shapeConf]())

func loadShape(t *testing.T, conf string, src Sources) (*shapeConf, *loader, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "micro-gw.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &shapeConf{}
	l, err := layered(shapeSchema, out, shapeDefaults(), file, []byte(conf), src)
	return out, l, err
}

func TestShapes(t *testing.T) {
	conf := `
[apiEndpoints."/petstore/v1"]
production = ["https://pets.internal/v2"]
sandbox = []

[apiEndpoints."/PetStore/v1"]
type = "failover"

[b7a.users.alice]
password = "$2a$10$hash"
scopes = ["read"]

[b7a.users.Bob]
password = "x"

[[apiKeyConfig]]
issuer = "https://a"

[[apiKeyConfig]]
issuer = "https://b"
jwksUrl = "https://b/jwks"

[throttlingConfig]
trustedProxies = ["10.0.0.0/8"]

[throttlingConfig.global]
enabled = true

[upstream]
ruleTtl = 86400
ratio = 1
retryCodes = [502, 503]
`
	c, l, err := loadShape(t, conf, Sources{Overrides: []string{
		`apiEndpoints."/petstore/v1".production=["https://a/v2","https://b/v2"]`,
		`apiEndpoints."/acc/v1".production=https://acc/v2`,
		`apiEndpoints.'/PetStore/v1'.sandbox=https://s/v2`,
		"apiKeyConfig[1].issuer=https://c",
		"apiKeyConfig[2].issuer=https://d",
		"b7a.users.carol.password=p",
		"upstream.responseTimeout=1500",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]shapeEndpoints{
		"/petstore/v1": {Production: []string{"https://a/v2", "https://b/v2"}, Sandbox: []string{}, Type: "load_balance"},
		"/PetStore/v1": {Sandbox: []string{"https://s/v2"}, Type: "failover"},
		"/acc/v1":      {Production: []string{"https://acc/v2"}, Type: "load_balance"},
	}
	if !reflect.DeepEqual(c.APIEndpoints, want) {
		t.Errorf("apiEndpoints = %#v", c.APIEndpoints)
	}
	users := map[string]shapeUser{"alice": {Password: "$2a$10$hash", Scopes: []string{"read"}}, "Bob": {Password: "x"}, "carol": {Password: "p"}}
	if !reflect.DeepEqual(c.B7A.Users, users) {
		t.Errorf("b7a.users = %#v", c.B7A.Users)
	}
	keys := []shapeIssuer{{Issuer: "https://a"}, {Issuer: "https://c", JWKSURL: "https://b/jwks"}, {Issuer: "https://d"}}
	if !reflect.DeepEqual(c.APIKeys, keys) {
		t.Errorf("apiKeyConfig = %#v", c.APIKeys)
	}
	if !c.Throttling.Global.Enabled || c.Throttling.Global.RedisURL != "redis://127.0.0.1:6379/0" ||
		!reflect.DeepEqual(c.Throttling.TrustedProxies, []string{"10.0.0.0/8"}) {
		t.Errorf("throttlingConfig = %+v", c.Throttling)
	}
	if u := c.Upstream; u.ResponseTimeout != 1500*time.Millisecond || u.RuleTTL != 24*time.Hour || u.Ratio != 1 || !reflect.DeepEqual(u.Codes, []int{502, 503}) {
		t.Errorf("upstream = %+v", u)
	}
	// Where each value came from.
	for key, want := range map[string]Origin{
		`apiEndpoints."/petstore/v1".production`: {Source: FromFlag, Name: `apiEndpoints."/petstore/v1".production`},
		`apiEndpoints."/petstore/v1".sandbox`:    {Source: FromFile, Line: 4},
		`apiEndpoints."/PetStore/v1"`:            {Source: FromFile, Line: 6},
		`b7a.users.Bob.password`:                 {Source: FromFile, Line: 14},
		`apiKeyConfig[1].jwksUrl`:                {Source: FromFile, Line: 21},
		`apiKeyConfig[2]`:                        {Source: FromFlag, Name: "apiKeyConfig[2].issuer"},
		`throttlingConfig.global.enabled`:        {Source: FromFile, Line: 27},
	} {
		if got := l.origins[key]; got != want {
			t.Errorf("origin of %s = %+v; want %+v", key, got, want)
		}
	}
	if _, ok := l.origins["upstream.ratio"]; !ok {
		t.Error("no origin for upstream.ratio")
	}
	if _, ok := l.origins["throttlingConfig.global.redisUrl"]; ok {
		t.Error("a default has an origin")
	}
}

func TestShapeFaults(t *testing.T) {
	cases := []struct {
		name, conf string
		overrides  []string
		key        string
		line       int
		via        string
		contain    string
	}{
		{"unknown key in a map entry", "[apiEndpoints.\"/x\"]\nproduktion = []\n", nil, `apiEndpoints."/x".produktion`, 2, "", `did you mean apiEndpoints."/x".production?`},
		{"map entry not a table", "[apiEndpoints]\n\"/x\" = 1\n", nil, `apiEndpoints."/x"`, 2, "", "must be a table"},
		{"map not a table", "apiEndpoints = 1\n", nil, "apiEndpoints", 1, "", "must be a table of tables"},
		{"list of ints with a string", "[upstream]\nretryCodes = [502, \"x\"]\n", nil, "upstream.retryCodes", 2, "", "item 1: must be an integer"},
		{"seconds out of range", "[upstream]\nruleTtl = 9223372036854775807\n", nil, "upstream.ruleTtl", 2, "", "out of range"},
		{"map entry without a key", "", []string{`apiEndpoints."/x"=1`}, `apiEndpoints."/x"`, 0, viaFlag, "give the name and a key"},
		{"index on a map", "", []string{`apiEndpoints[0].production=x`}, "apiEndpoints[0].production", 0, viaFlag, "takes no index"},
		{"key as a table", "", []string{`upstream.ratio.x=1`}, "upstream.ratio.x", 0, viaFlag, "is a key, not a table"},
		{"bad TOML array", "", []string{`apiEndpoints."/x".production=["a",`}, `apiEndpoints."/x".production`, 0, viaFlag, "must be an array of strings"},
		{"array item of the wrong type", "", []string{`upstream.retryCodes=["502"]`}, "upstream.retryCodes", 0, viaFlag, "must be an integer"},
		{"bad quoting", "", []string{`apiEndpoints."/x.production=a`}, `apiEndpoints."/x.production`, 0, viaFlag, "unterminated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := loadShape(t, tc.conf, Sources{Overrides: tc.overrides})
			var e *Error
			if !errors.As(err, &e) || e.Key != tc.key || e.Line != tc.line || e.Via != tc.via || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %v (%+v); want key %s line %d via %q containing %q", err, e, tc.key, tc.line, tc.via, tc.contain)
			}
		})
	}
}

// An -e key that is no path of the configuration goes to the claims, in
// order; one that no claim takes is an unknown key.
func TestOverrideClaims(t *testing.T) {
	var got []string
	claims := []OverrideClaim{
		func(k, v string) (bool, error) {
			if strings.Contains(k, "_prod_endpoint_") {
				got = append(got, k+"="+v)
				return true, nil
			}
			return false, nil
		},
		func(k, _ string) (bool, error) {
			if strings.HasSuffix(k, "_bad") {
				return false, errors.New("not a URL")
			}
			return false, nil
		},
	}
	_, _, err := loadShape(t, "", Sources{Overrides: []string{"myEp_prod_endpoint_0=https://a", "upstream.ratio=2"}, Claims: claims})
	if err != nil || strings.Join(got, ",") != "myEp_prod_endpoint_0=https://a" {
		t.Fatalf("claimed %v, err %v", got, err)
	}
	_, _, err = loadShape(t, "", Sources{Overrides: []string{"x_bad=1"}, Claims: claims})
	var e *Error
	if !errors.As(err, &e) || e.Key != "x_bad" || e.Via != viaFlag || !strings.Contains(err.Error(), "not a URL") {
		t.Fatalf("claim error: %v", err)
	}
	_, _, err = loadShape(t, "", Sources{Overrides: []string{"nothing_here=1"}, Claims: claims})
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unclaimed: %v", err)
	}
	// A key of the configuration is never offered to a claim.
	_, _, err = loadShape(t, "", Sources{Overrides: []string{"upstream.nope_prod_endpoint_0=1"}, Claims: claims})
	if !errors.Is(err, ErrUnknownKey) || len(got) != 1 {
		t.Fatalf("a config path was claimed: %v %v", err, got)
	}
}

func TestKeyPaths(t *testing.T) {
	for in, want := range map[string]string{
		`a.b`:                     `a.b`,
		` a . "b.c" . 'd/e' `:     `a."b.c"."d/e"`,
		`a[0].b`:                  `a[0].b`,
		`apiEndpoints."/p\"q".x`:  `apiEndpoints."/p\"q".x`,
		`"\u00e9t\u00E9"`:         `"été"`,
		`users."with space"[2].k`: `users."with space"[2].k`,
	} {
		parts, err := parseKey(in)
		if err != nil || showKey(parts) != want {
			t.Errorf("parseKey(%q) = %q, %v; want %q", in, showKey(parts), err, want)
		}
	}
	for _, bad := range []string{"", "a.", ".a", "a..b", `"a`, "a[x]", "a[-1]", "a[01]", "a b", `"\q"`, `"\u12"`} {
		if _, err := parseKey(bad); err == nil {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
	if got := enclosing(`a[1]."x.y".z`); strings.Join(got, " ") != `a[1]."x.y" a[1] a` {
		t.Errorf("enclosing = %q", got)
	}
	for _, s := range []string{"", "httpPort", "/PetStore/v1", "a.b~c^d", "é", "^", "~"} {
		if k := vkey(s); strings.ToLower(k) != k || strings.Contains(k, ".") || unvkey(k) != s {
			t.Errorf("vkey(%q) = %q, back %q", s, k, unvkey(k))
		}
	}
}

// The schema refuses what it cannot represent when it is read, so that a
// mistake in a new field fails every test rather than a user's start.
func TestSchemaRefuses(t *testing.T) {
	for name, typ := range map[string]reflect.Type{
		"untagged": reflect.TypeFor[struct{ A int }](),
		"duration sans unit": reflect.TypeFor[struct {
			A time.Duration `conf:"a"`
		}](),
		"unknown option": reflect.TypeFor[struct {
			A int `conf:"a,secrets"`
		}](),
		"unsupported type": reflect.TypeFor[struct {
			A complex64 `conf:"a"`
		}](),
		"twice": reflect.TypeFor[struct {
			A, B int `conf:"a"`
		}](),
		"passthrough named": reflect.TypeFor[struct {
			A map[string]any `conf:"a,passthrough"`
		}](),
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: accepted", name)
				}
			}()
			newSchema(typ)
		}()
	}
}

package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func loadEnv(t *testing.T, conf string, env []string, overrides ...string) (*Config, error) {
	t.Helper()
	file, _ := writeConf(t, conf)
	return LoadSources(Sources{File: file, Env: env, Overrides: overrides})
}

// Lowest first: the defaults, the file, the environment, -e.
func TestEnvLayer(t *testing.T) {
	conf := "[listenerConfig]\nhttpPort = 9000\nhttpsPort = 9001\n" + minimal + "\n[tokenRevocationConfig.persistent]\nendpoints = [\"http://f:2379\"]\n"
	env := []string{
		"PATH=/usr/bin", // not ours
		"MGW_LISTENERCONFIG_HTTPSPORT=9443",
		"MGW_LISTENERCONFIG_ADMINPORT=9444",
		"MGW_LISTENERCONFIG_HTTPPORT=9080",
		"MGW_JWTTOKENCONFIG_0_AUDIENCE=aud-env",
		"MGW_JWTTOKENCONFIG_1_ISSUER=https://second",
		"MGW_JWTTOKENCONFIG_1_AUDIENCE=aud2",
		"MGW_JWTTOKENCONFIG_1_JWKSURL=https://second/jwks",
		"MGW_JWTTOKENCONFIG_1_TOKENTYPES=at+jwt",
		`MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS=["http://a:2379", "http://b:2379"]`,
		"MGW_TOKENREVOCATIONCONFIG_REALTIME_JMSCONNECTIONPASSWORD=pa$${x}${y}",
		"MGW_B7A_LOG_LEVEL=trace",
		"MGW_CACHING_TOKENCACHEEXPIRYTIME=2000",
		"MGW_CACHING_TOKENCACHEEVICTIONFACTOR=0.5",
	}
	c, err := loadEnv(t, conf, env, "listenerConfig.httpPort=9190")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listener
	if l.HTTPPort != 9190 || l.HTTPSPort != 9443 || l.AdminPort != 9444 || l.Host != DefaultHost {
		t.Errorf("listener = %+v", l)
	}
	wantJWT := []JWTIssuer{
		{Issuer: DefaultIssuer, Audience: "aud-env", CertificateAlias: DefaultCertificateAlias},
		{Issuer: "https://second", Audience: "aud2", JWKSURL: "https://second/jwks", TokenTypes: []string{"at+jwt"}},
	}
	if !reflect.DeepEqual(c.JWT, wantJWT) {
		t.Errorf("jwtTokenConfig = %+v", c.JWT)
	}
	if p := c.Revocation.Persistent.Endpoints; !reflect.DeepEqual(p, []string{"http://a:2379", "http://b:2379"}) {
		t.Errorf("endpoints = %q", p)
	}
	// A variable's value is taken as it is: the environment is already the
	// indirection, and a secret may hold "${".
	if pw := c.Revocation.Realtime.Password; pw != "pa$${x}${y}" {
		t.Errorf("password = %q", pw)
	}
	if c.Log.Level != "trace" || c.Caching.TokenCacheExpiryTime.Milliseconds() != 2000 {
		t.Errorf("log %q, cache %v", c.Log.Level, c.Caching.TokenCacheExpiryTime)
	}
	for key, want := range map[string]*Error{
		"listenerConfig.httpPort":   {Key: "listenerConfig.httpPort", Via: viaFlag},
		"listenerConfig.httpsPort":  {Key: "listenerConfig.httpsPort", Via: viaEnv("MGW_LISTENERCONFIG_HTTPSPORT")},
		"jwtTokenConfig[0].issuer":  {Key: "jwtTokenConfig[0].issuer", Line: 6},
		"jwtTokenConfig[1]":         {Key: "jwtTokenConfig[1]", Via: viaEnv("MGW_JWTTOKENCONFIG_1_AUDIENCE")},
		"log.level":                 {Key: "b7a.log.level", Via: viaEnv("MGW_B7A_LOG_LEVEL")},
		"listenerConfig.keyFile":    {Key: "listenerConfig.keyFile", Line: 1},
		"jwtTokenConfig[1].jwksUrl": {Key: "jwtTokenConfig[1].jwksUrl", Via: viaEnv("MGW_JWTTOKENCONFIG_1_JWKSURL")},
	} {
		e := c.Fault(key, errors.New("x"))
		if e.Key != want.Key || e.Line != want.Line || e.Via != want.Via {
			t.Errorf("Fault(%s) = %q (line %d, via %q); want key %q line %d via %q", key, e, e.Line, e.Via, want.Key, want.Line, want.Via)
		}
	}
}

func TestEnvLists(t *testing.T) {
	for value, want := range map[string][]string{
		"http://a:2379":                          {"http://a:2379"},
		"http://a:2379/?x=1,2":                   {"http://a:2379/?x=1,2"}, // a bare value is a list of one, commas and all
		`["http://a:2379/x,y"]`:                  {"http://a:2379/x,y"},
		`[ 'http://a:2379', "http://b:2379" , ]`: {"http://a:2379", "http://b:2379"},
		"":                                       {},
	} {
		c, err := loadEnv(t, minimal, []string{"MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS=" + value})
		if err != nil {
			t.Fatalf("%q: %v", value, err)
		}
		if got := c.Revocation.Persistent.Endpoints; !reflect.DeepEqual(got, want) {
			t.Errorf("%q -> %q; want %q", value, got, want)
		}
	}
}

func TestEnvFaults(t *testing.T) {
	conf := minimal + "\n[tokenRevocationConfig.persistent]\nuseDefault = false\nrevokedTokensFile = \"x\"\n"
	cases := []struct {
		env      []string
		key, via string
		contain  string
	}{
		{[]string{"MGW_LISTENERCONFIG_HTTPPROT=1"}, "", "MGW_LISTENERCONFIG_HTTPPROT", "did you mean MGW_LISTENERCONFIG_HTTPPORT?"},
		// What a Kubernetes Service called mgw would inject.
		{[]string{"MGW_PORT=tcp://10.0.0.1:9090"}, "", "MGW_PORT", "names no key"},
		{[]string{"MGW_SERVICE_HOST=10.0.0.1"}, "", "MGW_SERVICE_HOST", "names no key"},
		{[]string{"MGW_HOME=/opt/wso2"}, "", "MGW_HOME", "WSO2 Microgateway's installation folder"},
		{[]string{"MGW_listenerconfig_httpport=1"}, "", "MGW_listenerconfig_httpport", "names no key"},
		{[]string{"MGW_LISTENERCONFIG=1"}, "", "MGW_LISTENERCONFIG", "names no key"},
		{[]string{"MGW_JWTTOKENCONFIG_ISSUER=x"}, "", "MGW_JWTTOKENCONFIG_ISSUER", "names no key"},
		{[]string{"MGW_JWTTOKENCONFIG_01_ISSUER=x"}, "", "MGW_JWTTOKENCONFIG_01_ISSUER", "names no key"},
		{[]string{"MGW_LISTENERCONFIG_HTTPPORT=s3cr3t"}, "listenerConfig.httpPort", "MGW_LISTENERCONFIG_HTTPPORT", "must be an integer (the value is not shown"},
		{[]string{"MGW_LISTENERCONFIG_HTTPPORT=70000"}, "listenerConfig.httpPort", "MGW_LISTENERCONFIG_HTTPPORT", "out of range"},
		{[]string{"MGW_JWTTOKENCONFIG_2_ISSUER=x"}, "jwtTokenConfig[2].issuer", "MGW_JWTTOKENCONFIG_2_ISSUER", "index 2 out of range: 1"},
		{[]string{"MGW_JWTTOKENCONFIG_1_ISSUER=x", "MGW_JWTTOKENCONFIG_3_AUDIENCE=x"}, "jwtTokenConfig[3].audience", "MGW_JWTTOKENCONFIG_3_AUDIENCE", "index 3 out of range: 2"},
		{[]string{"MGW_JWTTOKENCONFIG_1_ISSUER=https://x"}, "jwtTokenConfig[1].audience", "MGW_JWTTOKENCONFIG_1_ISSUER", "is required"},
		{[]string{"MGW_LOG_LEVEL=WARN", "MGW_B7A_LOG_LEVEL=DEBUG"}, "log.level", "MGW_LOG_LEVEL", "b7a.log.level (environment MGW_B7A_LOG_LEVEL) sets the same key"},
		{[]string{"MGW_TOKENREVOCATIONCONFIG_PERSISTENT_OTHERFILE=y"}, "", "MGW_TOKENREVOCATIONCONFIG_PERSISTENT_OTHERFILE", "names no key"},
		{[]string{"MGW_TOKENREVOCATIONCONFIG_PERSISTENT_USEDEFAULT=true"}, "tokenRevocationConfig.persistent.revokedTokensFile", "", "useDefault = false"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.env, " "), func(t *testing.T) {
			_, err := loadEnv(t, conf, tc.env)
			var e *Error
			if !errors.As(err, &e) || e.Key != tc.key || (e.Via != viaEnv(tc.via) && tc.via != "") || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %v (%+v); want key %q via %s containing %q", err, e, tc.key, tc.via, tc.contain)
			}
			if msg := strings.TrimPrefix(err.Error(), e.File); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "10.0.0.1") {
				t.Errorf("the error shows a value: %v", err)
			}
			if e.Key == "" && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("not ErrUnknownKey: %v", err)
			}
		})
	}
}

// A custom store's settings are named by the file; a variable sets them.
func TestEnvPassthrough(t *testing.T) {
	conf := minimal + "\n[tokenRevocationConfig.persistent]\nuseDefault = false\nrevokedTokensFile = \"x\"\nPoll-Seconds = 5\n"
	c, err := loadEnv(t, conf, []string{"MGW_TOKENREVOCATIONCONFIG_PERSISTENT_REVOKEDTOKENSFILE=${not}", "MGW_TOKENREVOCATIONCONFIG_PERSISTENT_POLL_SECONDS=7"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"revokedTokensFile": "${not}", "Poll-Seconds": "7"}
	if !reflect.DeepEqual(c.Revocation.Persistent.Settings, want) {
		t.Errorf("settings = %#v", c.Revocation.Persistent.Settings)
	}
}

// Entries of a table keyed by any string: those the file writes, and those
// the caller knows (Sources.Keys); two keys of one name are refused.
func TestEnvMaps(t *testing.T) {
	conf := "[apiEndpoints.\"/petstore/v1\"]\nproduction = [\"https://f\"]\n[apiEndpoints.\"/a-b\"]\n[apiEndpoints.\"/a_b\"]\n[b7a.users.Alice]\npassword = \"x\"\n"
	env := []string{
		"MGW_APIENDPOINTS__PETSTORE_V1_PRODUCTION=https://e1",
		`MGW_APIENDPOINTS__ACC_V1_SANDBOX=["https://s1","https://s2"]`,
		`MGW_B7A_USERS_ALICE_SCOPES=["read","write"]`,
		"MGW_UPSTREAM_RESPONSETIMEOUT=100",
	}
	c, l, err := loadShape(t, conf, Sources{Env: env, Keys: map[string][]string{"apiEndpoints": {"/acc/v1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.APIEndpoints["/petstore/v1"].Production; !reflect.DeepEqual(got, []string{"https://e1"}) {
		t.Errorf("production = %q", got)
	}
	if got := c.APIEndpoints["/acc/v1"]; !reflect.DeepEqual(got, shapeEndpoints{Sandbox: []string{"https://s1", "https://s2"}, Type: "load_balance"}) {
		t.Errorf("/acc/v1 = %+v", got)
	}
	if got := c.B7A.Users["Alice"]; !reflect.DeepEqual(got, shapeUser{Password: "x", Scopes: []string{"read", "write"}}) {
		t.Errorf("Alice = %+v", got)
	}
	if o := l.origins[`apiEndpoints."/acc/v1".sandbox`]; o.Source != FromEnv || o.Name != "MGW_APIENDPOINTS__ACC_V1_SANDBOX" {
		t.Errorf("origin = %+v", o)
	}

	for env, contain := range map[string]string{
		"MGW_APIENDPOINTS__A_B_PRODUCTION=x": `names apiEndpoints."/a-b".production and apiEndpoints."/a_b".production: two keys give this name`,
		"MGW_APIENDPOINTS__NEW_PRODUCTION=x": "names no entry of apiEndpoints",
		"MGW_B7A_USERS_BOB_PASSWORD=x":       "names no entry of b7a.users",
	} {
		_, _, err := loadShape(t, conf, Sources{Env: []string{env}})
		var e *Error
		name, _, _ := strings.Cut(env, "=")
		if !errors.As(err, &e) || e.Via != viaEnv(name) || !strings.Contains(err.Error(), contain) {
			t.Errorf("%s: got %v; want %q", env, err, contain)
		}
	}
}

func TestEnvNames(t *testing.T) {
	for in, want := range map[string]string{"listenerConfig": "LISTENERCONFIG", "/petstore/v1": "_PETSTORE_V1", "a-b.c": "A_B_C", "été": "_T_", "x9": "X9"} {
		if got := envName(in); got != want {
			t.Errorf("envName(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzLayers gives arbitrary MGW_ variables and -e overrides over a valid
// conf: Load must not panic, and must return a Config, which prints as a conf
// that loads, or an *Error naming the file.
func FuzzLayers(f *testing.F) {
	f.Add("LISTENERCONFIG_HTTPPORT", "9190", "listenerConfig.host=x")
	f.Add("JWTTOKENCONFIG_1_ISSUER", "https://x", "jwtTokenConfig[1].audience=a")
	f.Add("TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS", `["http://a:1",`, `tokenRevocationConfig.persistent."x y"=1`)
	f.Add("B7A_LOG_LEVEL", "TRACE", `"listenerConfig".'host'[0]=1`)
	f.Add("TOKENREVOCATIONCONFIG_PERSISTENT_REVOKEDTOKENSFILE", "${X}", "tokenRevocationConfig.persistent.useDefault=false")
	file, _ := writeConf(f, minimal+"\n[tokenRevocationConfig.persistent]\nrevokedTokensFile = \"x\"\n")
	f.Fuzz(func(t *testing.T, name, value, override string) {
		c, err := LoadSources(Sources{File: file, Env: []string{EnvPrefix + name + "=" + value}, Overrides: []string{override}})
		var e *Error
		switch {
		case errors.As(err, &e):
			if !strings.HasPrefix(e.Error(), file) {
				t.Fatalf("the error does not name the file: %v", e)
			}
		case err != nil:
			t.Fatalf("error %T is not *Error", err)
		case len(c.JWT) == 0:
			t.Fatal("accepted a conf without an issuer")
		default:
			// What --print-config prints of it is a conf that loads.
			var out bytes.Buffer
			if err := c.Print(&out); err != nil {
				t.Fatal(err)
			}
			printed, _ := writeConf(t, out.String())
			if _, err := Load(printed, nil); err != nil {
				t.Fatalf("the printed configuration does not load: %v\n%s", err, out.String())
			}
		}
	})
}

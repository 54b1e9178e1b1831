package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	conf := `
[listenerConfig]
httpPort = 9000
trustStorePassword = "changeit-s3cret"

[[jwtTokenConfig]]
issuer = "https://idp-a/token"
audience = "aud-a"
certificateAlias = "a"

[[jwtTokenConfig]]
issuer = "https://idp-b/token"
audience = "aud-b"
jwksUrl = "https://idp-b/jwks"
tokenTypes = ["at+jwt"]

[caching]
tokenCacheExpiryTime = 60000

[tokenRevocationConfig.realtime]
jmsConnectionProviderUrl = "amqp://admin:amqp-s3cret@carbon/carbon?brokerlist='tcp://localhost:5672'"
jmsConnectionPassword = ""

[tokenRevocationConfig.persistent]
useDefault = false
password = "etcd-s3cret"
revokedTokensFile = "extensions/revoked.txt"
apiKey = "key-s3cret"
nested = { a = ["x"], "b c" = 1 }

[apiEndpoints."/petstore/v1"]
production = ["https://pets/v2"]
basicUsername = "gw"
basicPassword = "basic-s3cret"

[apiEndpoints."/acc/v1"]
sandbox = []
`
	file, root := writeConf(t, conf)
	c, err := LoadSources(Sources{File: file,
		Env: []string{"MGW_LISTENERCONFIG_ADMINPORT=9444", "MGW_TOKENREVOCATIONCONFIG_PERSISTENT_APIKEY=env-s3cret",
			"MGW_TOKENREVOCATIONCONFIG_REALTIME_JMSCONNECTIONUSERNAME=u${x}"},
		Overrides: []string{"listenerConfig.httpPort=9190", "jwtTokenConfig[1].audience=aud-e", "b7a.log.level=DEBUG"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, "s3cret") {
		t.Errorf("a secret is shown:\n%s", got)
	}
	containsAll(t, got, []string{
		"# The configuration in effect for " + file + ".\n",
		"[listenerConfig]\nhost = '0.0.0.0'",
		"httpPort = 9190 ",
		"  # -e listenerConfig.httpPort\n",
		"adminPort = 9444 ",
		"  # environment MGW_LISTENERCONFIG_ADMINPORT\n",
		`certFile = '` + filepath.Join(root, "security/gateway.crt") + `'`,
		`trustStorePassword = "********"`,
		"  # " + file + ":4\n",
		"[[jwtTokenConfig]]\nissuer = 'https://idp-a/token'",
		"audience = 'aud-e'",
		"tokenTypes = ['at+jwt']",
		"tokenCacheExpiryTime = 60000 ",
		"jmsConnectionProviderUrl = \"amqp://admin:********@carbon/carbon?brokerlist='tcp://localhost:5672'\"",
		"jmsConnectionPassword = ''",
		"jmsConnectionUsername = 'u$${x}'",
		"[tokenRevocationConfig.persistent]",
		`password = "********"`,
		`apiKey = "********"`,
		"revokedTokensFile = 'extensions/revoked.txt'",
		"nested = {a = ['x'], 'b c' = 1}",
		"level = 'DEBUG'",
		"  # -e b7a.log.level (as b7a.log.level)\n",
		"[apiEndpoints.\"/petstore/v1\"]\nproduction = ['https://pets/v2']",
		"# sandbox is not set",
		"[apiEndpoints.\"/acc/v1\"]\n# production is not set  ",
		"sandbox = []  ",
		`basicPassword = "********"`,
		"enabled = true ",
		"  # default\n",
	})

	// What it prints is a conf: loaded again it gives the same
	// configuration, but for the masked secrets.
	again, _ := writeConf(t, got)
	c2, err := Load(again, nil)
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, got)
	}
	for _, cc := range []*Config{c, c2} {
		cc.File, cc.Root, cc.lines, cc.Warnings = "", "", nil, nil
		cc.Listener.TrustStorePassword, cc.Revocation.Persistent.Password = "", ""
		cc.Revocation.Realtime.ProviderURL = ""
		cc.Revocation.Persistent.Settings["apiKey"] = ""
		e := cc.Endpoints["/petstore/v1"]
		e.BasicPassword = ""
		cc.Endpoints["/petstore/v1"] = e
	}
	// A list that is not set reads back not set, an empty one empty.
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("printed and loaded again:\n%+v\nwas\n%+v", c2, c)
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://u:p@h:5672/v":            "amqp://u:********@h:5672/v",
		"https://u@h/x":                  "https://u@h/x",
		"https://h/x?q=a:b@c":            "https://h/x?q=a:b@c",
		"stomp://h1:61613,h2:61613":      "stomp://h1:61613,h2:61613",
		"redis://:p%40ss@127.0.0.1:6379": "redis://:********@127.0.0.1:6379",
		"not a url":                      "not a url",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q; want %q", in, got, want)
		}
	}
}

// The gateway's own conf, as micro-gw init writes it, prints and loads back.
func TestPrintDefaults(t *testing.T) {
	c := Default()
	var out bytes.Buffer
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "# /") || strings.Count(out.String(), "# default\n") < 20 {
		t.Errorf("defaults printed with an origin:\n%s", out.String())
	}
	file, _ := writeConf(t, out.String())
	if _, err := Load(file, nil); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(file)
}

// The shapes later keys take print as TOML that reads back the same.
func TestPrintShapes(t *testing.T) {
	conf := `
[apiEndpoints."/petstore/v1"]
production = ["https://u:pw-s3cret@pets/v2"]

[b7a.users.Alice]
password = "hash-s3cret"
scopes = ["read"]

[[apiKeyConfig]]
issuer = "https://a"

[throttlingConfig.global]
enabled = true
redisUrl = "redis://:redis-s3cret@r:6379/0"

[upstream]
ruleTtl = 60
retryCodes = [502]
`
	c, l, err := loadShape(t, conf, Sources{Overrides: []string{"upstream.responseTimeout=1500"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printConfig(&out, shapeSchema, c, "micro-gw.conf", l.origins, nil); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	containsAll(t, got, []string{
		"[apiEndpoints.\"/petstore/v1\"]\nproduction = ['https://u:pw-s3cret@pets/v2']",
		"type = 'load_balance'",
		"[b7a.users.Alice]\npassword = \"********\"",
		"[[apiKeyConfig]]\nissuer = 'https://a'",
		"[throttlingConfig.global]\nenabled = true",
		"redisUrl = 'redis://:********@r:6379/0'",
		"responseTimeout = 1500  # -e upstream.responseTimeout\n",
		"ruleTtl = 60 ",
		"retryCodes = [502]",
	})
	// (A URL not marked urlsecret keeps its user info: mark the keys that
	// may hold one.)
	if strings.Contains(got, "hash-s3cret") || strings.Contains(got, "redis-s3cret") {
		t.Errorf("a secret is shown:\n%s", got)
	}
	c2, _, err := loadShape(t, got, Sources{})
	if err != nil {
		t.Fatalf("the printed configuration does not load: %v\n%s", err, got)
	}
	c.B7A.Users["Alice"] = shapeUser{Scopes: []string{"read"}}
	c2.B7A.Users["Alice"] = shapeUser{Scopes: []string{"read"}}
	c.Throttling.Global.RedisURL, c2.Throttling.Global.RedisURL = "", ""
	if a, b := fmt.Sprintf("%+v", c), fmt.Sprintf("%+v", c2); a != b {
		t.Errorf("printed and loaded again:\n%s\nwas\n%s", b, a)
	}
}

func containsAll(t *testing.T, got string, wants []string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

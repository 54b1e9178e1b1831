package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConf writes content to <tmp>/conf/micro-gw.conf, as in a project,
// and returns the path and the project root.
func writeConf(t testing.TB, content string) (file, root string) {
	t.Helper()
	root = t.TempDir()
	file = filepath.Join(root, "conf", "micro-gw.conf")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, root
}

const minimal = `
[[jwtTokenConfig]]
issuer = "https://localhost:9443/oauth2/token"
audience = "http://org.wso2.apimgt/gateway"
certificateAlias = "wso2apim"
`

// full is the conf of docs/configuration.md with every value changed from
// its default, so that a key that is read into the wrong field shows.
const full = `
[listenerConfig]
host = "127.0.0.1"
httpPort = 8080
httpsPort = 8443
adminPort = 8081
certFile = "tls/gw.crt"
keyFile = "/etc/gw.key"
trustStorePath = "security/trust.p12"
trustStorePassword = "changeit"
maxRequestBodySize = 4096

[[jwtTokenConfig]]
issuer = "https://idp-a/token"
audience = "aud-a"
certificateAlias = "a"
validateSubscription = true

[[jwtTokenConfig]]
issuer = "https://idp-b/token"
audience = "aud-b"
jwksUrl = "https://idp-b/jwks"
tokenTypes = ["at+jwt", "application/jwt"]

[authConfig]
authorizationHeader = "X-JWT"
removeAuthHeaderFromOutMessage = false

[caching]
enabled = false
tokenCacheExpiryTime = 60000
tokenCacheCapacity = 5
tokenCacheEvictionFactor = 0.25

[tokenRevocationConfig.realtime]
enableRealtimeMessageRetrieval = true
jmsConnectionTopic = "revoked"
jmsConnectioninitialContextFactory = "x"
jmsConnectionProviderUrl = "stomp://broker:61613"
jmsConnectionUsername = "u"
jmsConnectionPassword = "p"

[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = true
useDefault = true
hostname = "http://etcd:2379/v3/keys/revoked/"
endpoints = ["http://e1:2379", "http://e2:2379"]
username = "eu"
password = "ep"
rulesPrefix = "gw/rules/"
blockingPrefix = "gw/blocking/"
serveBeforeLoaded = true
snapshotDir = "state"

[log]
level = "debug"

[upstream]
responseTimeout = 15000

[throttlingConfig]
trustedProxies = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::ffff:172.16.0.0/108"]

[corsConfig]
corsConfigurationEnabled = true
accessControlAllowOrigins = ["https://app.example", "HTTPS://Other.example:443"]
accessControlAllowCredentials = true
accessControlAllowMethods = ["GET"]

[statusList]
enabled = true
allowedHosts = ["idp.example.com", "127.0.0.1:8443"]

[ssfReceiver]
transmitter = "https://tx.example.com"
authorizationHeader = "Bearer t0k"
audience = "https://gw.example.com"
delivery = "push"
pollInterval = 500
pushListen = "127.0.0.1:8245"
pushEndpointUrl = "https://gw.example.com:8245/ssf/events"
pushAuthorizationHeader = "Bearer p"
ruleTtl = 7200

[throttlingConfig.global]
enabled = true
redisUrl = "rediss://:pw@redis.internal:6380/2"
timeout = 250
keyPrefix = "fleet-a:"

[apiEndpoints."/petstore/v1"]
production = ["https://pets.internal/v2/"]
sandbox = []
type = "failover"
basicUsername = "gw"
basicPassword = "pw"
`

func TestLoadFull(t *testing.T) {
	file, root := writeConf(t, full)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: file,
		Root: root,
		Listener: Listener{
			Host: "127.0.0.1", HTTPPort: 8080, HTTPSPort: 8443, AdminPort: 8081,
			CertFile: filepath.Join(root, "tls/gw.crt"), KeyFile: "/etc/gw.key",
			TrustStorePath: filepath.Join(root, "security/trust.p12"), TrustStorePassword: "changeit", MaxRequestBodySize: 4096,
		},
		JWT: []JWTIssuer{
			{Issuer: "https://idp-a/token", Audience: "aud-a", CertificateAlias: "a", ValidateSubscription: true},
			{Issuer: "https://idp-b/token", Audience: "aud-b", JWKSURL: "https://idp-b/jwks", TokenTypes: []string{"at+jwt", "application/jwt"}},
		},
		Auth:    Auth{AuthorizationHeader: "X-JWT"},
		Caching: Caching{TokenCacheExpiryTime: time.Minute, TokenCacheCapacity: 5},
		Revocation: Revocation{
			Realtime: Realtime{Enabled: true, Topic: "revoked", InitialContextFactory: "x", ProviderURL: "stomp://broker:61613", Username: "u", Password: "p"},
			Persistent: Persistent{Enabled: true, UseDefault: true, Hostname: "http://etcd:2379/v3/keys/revoked/",
				Endpoints: []string{"http://e1:2379", "http://e2:2379"}, Username: "eu", Password: "ep", RulesPrefix: "gw/rules/", BlockingPrefix: "gw/blocking/", ServeBeforeLoaded: true,
				SnapshotDir: filepath.Join(root, "state")},
		},
		Log:      Log{Level: "debug"},
		Tracing:  Tracing{Endpoint: DefaultTracingEndpoint},
		Upstream: Upstream{ResponseTimeout: 15 * time.Second},
		Throttling: Throttling{TrustedProxies: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::ffff:172.16.0.0/108"},
			Global: GlobalThrottling{Enabled: true, RedisURL: "rediss://:pw@redis.internal:6380/2", Timeout: 250 * time.Millisecond, KeyPrefix: "fleet-a:"}},
		CORS: CORS{Enabled: true, AllowOrigins: []string{"https://app.example", "HTTPS://Other.example:443"}, AllowCredentials: true,
			AllowHeaders: []string{"authorization", "Content-Type", "SOAPAction", "apikey"}, AllowMethods: []string{"GET"}},
		StatusList: StatusList{Enabled: true, AllowedHosts: []string{"idp.example.com", "127.0.0.1:8443"}},
		SSF: SSFReceiver{Transmitter: "https://tx.example.com", AuthorizationHeader: "Bearer t0k", Audience: "https://gw.example.com",
			Delivery: "push", PollInterval: 500 * time.Millisecond, PushListen: "127.0.0.1:8245",
			PushEndpointURL: "https://gw.example.com:8245/ssf/events", PushAuthorizationHeader: "Bearer p", RuleTTL: 2 * time.Hour},
		Endpoints: map[string]APIEndpoints{"/petstore/v1": {Production: []string{"https://pets.internal/v2/"}, Sandbox: []string{},
			Type: "failover", BasicUsername: "gw", BasicPassword: "pw"}},
	}
	ranges, err := c.Throttling.TrustedRanges()
	if err != nil || fmt.Sprint(ranges) != "[10.0.0.0/8 2001:db8::/32 192.0.2.7/32 172.16.0.0/12]" {
		t.Errorf("trusted ranges %v, %v", ranges, err)
	}
	if e := c.Fault("jwtTokenConfig[1].jwksUrl", errors.New("unreachable")); e.Line != 22 || e.File != file ||
		e.Error() != file+":22: jwtTokenConfig[1].jwksUrl: unreachable" {
		t.Errorf("Fault = %v", e)
	}
	if e := c.Fault("listenerConfig.nothere", errors.New("x")); e.Line != 2 {
		t.Errorf("Fault of an unwritten key = line %d; want the table's, 2", e.Line)
	}
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
	if c.SlogLevel() != slog.LevelDebug {
		t.Errorf("level = %v", c.SlogLevel())
	}
}

func TestLoadDefaults(t *testing.T) {
	file, root := writeConf(t, minimal)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.File, want.Root = file, root
	want.Listener.CertFile = filepath.Join(root, "security/gateway.crt")
	want.Listener.KeyFile = filepath.Join(root, "security/gateway.key")
	want.Listener.TrustStorePath = filepath.Join(root, "security/truststore")
	want.Revocation.Persistent.SnapshotDir = filepath.Join(root, "var/revocation")
	c.lines = nil
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
	// The WSO2 defaults, spelled out once more against Default drifting.
	if c.Listener.Host != "0.0.0.0" || c.Listener.HTTPPort != 9090 || c.Listener.HTTPSPort != 9095 || c.Listener.AdminPort != 9096 ||
		c.Auth.AuthorizationHeader != "Authorization" || !c.Auth.RemoveAuthHeaderFromOutMessage ||
		!c.Caching.Enabled || c.Caching.TokenCacheExpiryTime != 900*time.Second || c.Caching.TokenCacheCapacity != 10000 ||
		c.Revocation.Realtime.Topic != "tokenRevocation" || c.Revocation.Realtime.Enabled || c.Revocation.Persistent.Enabled ||
		c.Revocation.Realtime.ProviderURL != "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'" ||
		c.Revocation.Persistent.Hostname != "https://127.0.0.1:2379/v2/keys/jti/" || !c.Revocation.Persistent.UseDefault ||
		c.Revocation.Persistent.Username != "root" || c.Revocation.Persistent.Password != "root" || c.Log.Level != "INFO" ||
		c.Revocation.Persistent.RulesPrefix != "revocation-rules/" || c.Upstream.ResponseTimeout != time.Minute ||
		c.Throttling.TrustedProxies != nil {
		t.Fatalf("defaults differ from docs/configuration.md: %+v", c)
	}
}

func TestBadConfs(t *testing.T) {
	t.Setenv("MGW_TEST_UNSET_SURELY", "")
	os.Unsetenv("MGW_TEST_UNSET_SURELY")
	cases := []struct {
		name    string
		conf    string
		key     string
		line    int
		contain string
	}{
		{"unknown key", "[listenerConfig]\nhttpPort = 9090\nhtpPort = 1\n" + minimal, "listenerConfig.htpPort", 3, "unknown key (did you mean listenerConfig.httpPort?)"},
		{"unknown section", "[listener]\nhost = \"x\"\n" + minimal, "listener", 1, "unknown key"},
		{"key in the wrong case", "[listenerConfig]\nhttpport = 9090\n" + minimal, "listenerConfig.httpport", 2, "unknown key (did you mean listenerConfig.httpPort?)"},
		{"section in the wrong case", "[ListenerConfig]\nhttpPort = 9090\n" + minimal, "ListenerConfig", 1, "unknown key (did you mean listenerConfig?)"},
		{"top-level key", "httpPort = 1\n" + minimal, "httpPort", 1, "unknown key"},
		{"port as string", "[listenerConfig]\nhttpPort = \"9090\"\n" + minimal, "listenerConfig.httpPort", 2, "must be an integer, not a string"},
		{"port as float", "[listenerConfig]\n\nhttpsPort = 9090.5\n" + minimal, "listenerConfig.httpsPort", 3, "must be an integer, not a float"},
		{"bool as string", "[authConfig]\nremoveAuthHeaderFromOutMessage = \"true\"\n" + minimal, "authConfig.removeAuthHeaderFromOutMessage", 2, "must be a boolean"},
		{"string as number", "[log]\nlevel = 3\n" + minimal, "log.level", 2, "must be a string, not an integer"},
		{"endpoints as string", "[tokenRevocationConfig.persistent]\nendpoints = \"http://e:2379\"\n" + minimal, "tokenRevocationConfig.persistent.endpoints", 2, "must be an array of strings"},
		{"section as value", "listenerConfig = 3\n" + minimal, "listenerConfig", 1, "must be a table"},
		{"negative body limit", "[listenerConfig]\nmaxRequestBodySize = -1\n" + minimal, "listenerConfig.maxRequestBodySize", 2, "must be 0 (no limit)"},
		{"port out of range", "[listenerConfig]\nadminPort = 70000\n" + minimal, "listenerConfig.adminPort", 2, "out of range"},
		{"negative port", "[listenerConfig]\nhttpPort = -1\n" + minimal, "listenerConfig.httpPort", 2, "out of range"},
		{"two listeners on one port", "[listenerConfig]\nhttpPort = 9095\n" + minimal, "listenerConfig.httpPort", 2, "also listenerConfig.httpsPort"},
		{"log level", "[log]\nlevel = \"VERBOSE\"\n" + minimal, "log.level", 2, "not one of"},
		{"tracing endpoint with a path", "[tracing]\nenabled = true\nendpoint = \"http://c:4318/v1/traces\"\n" + minimal, "tracing.endpoint", 3, "no path"},
		{"tracing endpoint without a port", "[tracing]\nenabled = true\nendpoint = \"collector\"\n" + minimal, "tracing.endpoint", 3, "want host:port"},
		{"tracing endpoint scheme", "[tracing]\nenabled = true\nendpoint = \"grpc://c:4317\"\n" + minimal, "tracing.endpoint", 3, `scheme "grpc"`},
		{"status list without hosts", "[statusList]\nenabled = true\n" + minimal, "statusList.allowedHosts", 1, "is required when enabled"},
		{"status list host with a scheme", "[statusList]\nallowedHosts = [\"idp\", \"https://idp\"]\n" + minimal, "statusList.allowedHosts[1]", 2, "no scheme"},
		{"status list wildcard host", "[statusList]\nallowedHosts = [\"*.idp.example\"]\n" + minimal, "statusList.allowedHosts[0]", 2, "wildcard"},
		{"ssf transmitter over http", "[ssfReceiver]\ntransmitter = \"http://tx.example.com\"\n" + minimal, "ssfReceiver.transmitter", 2, "loopback addresses only"},
		{"ssf delivery", "[ssfReceiver]\n\ndelivery = \"webhook\"\n" + minimal, "ssfReceiver.delivery", 3, `not "poll" or "push"`},
		{"ssf poll interval", "[ssfReceiver]\npollInterval = 10\n" + minimal, "ssfReceiver.pollInterval", 2, "at least 100"},
		{"ssf rule ttl", "[ssfReceiver]\nruleTtl = 0\n" + minimal, "ssfReceiver.ruleTtl", 2, "at least 1"},
		{"ssf push listen", "[ssfReceiver]\npushListen = \"8245\"\n" + minimal, "ssfReceiver.pushListen", 2, "host:port"},
		{"no issuer table", "[log]\nlevel = \"INFO\"\n", "jwtTokenConfig", 0, "at least one"},
		{"issuer table not an array", "[jwtTokenConfig]\nissuer = \"a\"\n", "jwtTokenConfig", 1, "list of tables"},
		{"issuer without issuer", "[[jwtTokenConfig]]\naudience = \"a\"\ncertificateAlias = \"c\"\n", "jwtTokenConfig[0].issuer", 1, "is required"},
		{"issuer without key source", "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\n", "jwtTokenConfig[0]", 1, "certificateAlias or jwksUrl"},
		{"issuer with both key sources", minimal + "jwksUrl = \"https://x/jwks\"\n", "jwtTokenConfig[0].jwksUrl", 6, "both"},
		{"issuer without audience", "[[jwtTokenConfig]]\nissuer = \"i\"\ncertificateAlias = \"c\"\n", "jwtTokenConfig[0].audience", 1, "is required"},
		{"jwksUrl not http", "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\njwksUrl = \"file:///etc/passwd\"\n", "jwtTokenConfig[0].jwksUrl", 4, "http"},
		{"jwksUrl over plain http to another host", "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\njwksUrl = \"http://idp.example/jwks\"\n", "jwtTokenConfig[0].jwksUrl", 4, "must be an https:// URL"},
		{"unknown key in the second issuer", minimal + "\n[[jwtTokenConfig]]\nissuer = \"x\"\naudience = \"b\"\ncertificateAlias = \"c\"\nbogus = 1\n", "jwtTokenConfig[1].bogus", 11, "unknown key"},
		{"duplicate issuer", minimal + minimal, "jwtTokenConfig[1].issuer", 8, "already trusted"},
		{"token type with a space", minimal + "tokenTypes = [\"at+jwt\", \"at jwt\"]\n", "jwtTokenConfig[0].tokenTypes[1]", 6, "not a media type"},
		{"token type empty", minimal + "tokenTypes = [\"\"]\n", "jwtTokenConfig[0].tokenTypes[0]", 6, "not a media type"},
		{"token type with two slashes", minimal + "tokenTypes = [\"application/at+jwt/x\"]\n", "jwtTokenConfig[0].tokenTypes[0]", 6, "not a media type"},
		{"token types a string", minimal + "tokenTypes = \"at+jwt\"\n", "jwtTokenConfig[0].tokenTypes", 6, "array of strings"},
		{"unset environment variable", "[listenerConfig]\ntrustStorePassword = \"${MGW_TEST_UNSET_SURELY}\"\n" + minimal, "listenerConfig.trustStorePassword", 2, "MGW_TEST_UNSET_SURELY is not set"},
		{"unterminated ${", "[listenerConfig]\nhost = \"${HOME\"\n" + minimal, "listenerConfig.host", 2, "unterminated"},
		{"unknown persistent key with useDefault", "[tokenRevocationConfig.persistent]\nrevokedTokensFile = \"x\"\n" + minimal, "tokenRevocationConfig.persistent.revokedTokensFile", 2, "useDefault = false"},
		{"empty rulesPrefix", "[tokenRevocationConfig.persistent]\nrulesPrefix = \"\"\n" + minimal, "tokenRevocationConfig.persistent.rulesPrefix", 2, "empty"},
		{"rulesPrefix under the jti prefix", "[tokenRevocationConfig.persistent]\nhostname = \"http://e:2379/v2/keys/jti/\"\nrulesPrefix = \"jti/rules/\"\n" + minimal, "tokenRevocationConfig.persistent.rulesPrefix", 3, "overlaps"},
		{"rulesPrefix around the jti prefix", "[tokenRevocationConfig.persistent]\nrulesPrefix = \"j\"\n" + minimal, "tokenRevocationConfig.persistent.rulesPrefix", 2, "overlaps"},
		{"unknown realtime key", "[tokenRevocationConfig.realtime]\nfoo = 1\n" + minimal, "tokenRevocationConfig.realtime.foo", 2, "unknown key"},
		{"WSO2 section", "[analytics]\n  [analytics.fileUpload]\n  enable = false\n" + minimal, "analytics", 1, "a WSO2 Microgateway setting that micro-gw does not have (micro-gw publishes no analytics"},
		{"WSO2 nested section", "[b7a.observability]\n[b7a.observability.metrics]\nenabled = true\n" + minimal, "b7a.observability", 1, "the admin listener's /metrics"},
		{"WSO2 key in a section micro-gw has", "[keyManager]\nserverUrl = \"https://localhost:9443\"\n" + minimal, "keyManager.serverUrl", 2, "keyManager.introspectionUrl"},
		{"WSO2 key", "[listenerConfig]\nkeyStorePath = \"x.p12\"\n" + minimal, "listenerConfig.keyStorePath", 2, "certFile and listenerConfig.keyFile"},
		{"far from every key", "[listenerConfig]\nbananas = 1\n" + minimal, "listenerConfig.bananas", 2, "unknown key"},
		{"unknown revocation section", "[tokenRevocationConfig.other]\nfoo = 1\n" + minimal, "tokenRevocationConfig.other", 1, "unknown key"},
		{"negative cache expiry", "[caching]\ntokenCacheExpiryTime = -5\n" + minimal, "caching.tokenCacheExpiryTime", 2, "out of range"},
		{"zero cache capacity", "[caching]\ntokenCacheCapacity = 0\n" + minimal, "caching.tokenCacheCapacity", 2, "positive"},
		{"bad header name", "[authConfig]\nauthorizationHeader = \"Auth Header\"\n" + minimal, "authConfig.authorizationHeader", 2, "not a valid HTTP header name"},
		{"realtime on without URL", "[tokenRevocationConfig.realtime]\nenableRealtimeMessageRetrieval = true\njmsConnectionProviderUrl = \"\"\n" + minimal, "tokenRevocationConfig.realtime.jmsConnectionProviderUrl", 3, "required"},
		{"invalid TOML", "[listenerConfig]\nhttpPort = = 1\n" + minimal, "", 2, "invalid TOML"},
		{"duplicate key", "[listenerConfig]\nhttpPort = 1\nhttpPort = 2\n" + minimal, "httpPort", 3, "invalid TOML"},
		{"negative response timeout", "[upstream]\nresponseTimeout = -1\n" + minimal, "upstream.responseTimeout", 2, "out of range"},
		{"response timeout as a string", "[upstream]\nresponseTimeout = \"60s\"\n" + minimal, "upstream.responseTimeout", 2, "must be an integer"},
		{"trusted proxy not a range", "[throttlingConfig]\ntrustedProxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n" + minimal, "throttlingConfig.trustedProxies[1]", 2, "not an address range"},
		{"trusted proxy a name", "[throttlingConfig]\ntrustedProxies = [\"lb.internal\"]\n" + minimal, "throttlingConfig.trustedProxies[0]", 2, "not an IP address"},
		{"trusted proxies a string", "[throttlingConfig]\ntrustedProxies = \"10.0.0.0/8\"\n" + minimal, "throttlingConfig.trustedProxies", 2, "array"},
		{"WSO2 throttling key", "[throttlingConfig]\nenabledGlobalTMEventPublishing = false\n" + minimal, "throttlingConfig.enabledGlobalTMEventPublishing", 2, "counts throttling policies itself, cluster-wide in the Redis of [throttlingConfig.global]"},
		{"redis URL an http URL", "[throttlingConfig.global]\nenabled = true\nredisUrl = \"http://user:s3cret@r:6379/0\"\n" + minimal, "throttlingConfig.global.redisUrl", 3, `scheme "http": want redis://`},
		{"redis URL without host", "[throttlingConfig.global]\nenabled = true\nredisUrl = \"redis:///0\"\n" + minimal, "throttlingConfig.global.redisUrl", 3, "names no host"},
		{"redis URL path not a db", "[throttlingConfig.global]\nenabled = true\nredisUrl = \"redis://r:6379/cache\"\n" + minimal, "throttlingConfig.global.redisUrl", 3, "database number"},
		{"redis timeout zero", "[throttlingConfig.global]\nenabled = true\ntimeout = 0\n" + minimal, "throttlingConfig.global.timeout", 3, "positive"},
		{"global a value", "[throttlingConfig]\nglobal = true\n" + minimal, "throttlingConfig.global", 2, "table"},
		{"blocking prefix in the rules", "[tokenRevocationConfig.persistent]\nrulesPrefix = \"r/\"\nblockingPrefix = \"r/blocking/\"\n" + minimal, "tokenRevocationConfig.persistent.blockingPrefix", 3, "overlaps rulesPrefix"},
		{"blocking prefix empty", "[tokenRevocationConfig.persistent]\nblockingPrefix = \"\"\n" + minimal, "tokenRevocationConfig.persistent.blockingPrefix", 2, "empty (the default is blocking/)"},
		{"inline table unknown key", "listenerConfig = { host = \"h\", nope = 1 }\n" + minimal, "listenerConfig.nope", 1, "unknown key"},
		{"CORS origin with a path", "[corsConfig]\naccessControlAllowOrigins = [\"https://a\", \"https://b/app\"]\n" + minimal, "corsConfig.accessControlAllowOrigins[1]", 2, "without a path"},
		{"CORS origin without a scheme", "[corsConfig]\naccessControlAllowOrigins = [\"app.example\"]\n" + minimal, "corsConfig.accessControlAllowOrigins[0]", 2, "is not an origin"},
		{"CORS method not a token", "[corsConfig]\n\naccessControlAllowMethods = [\"GET\", \"PO ST\"]\n" + minimal, "corsConfig.accessControlAllowMethods[1]", 3, "not an HTTP method"},
		{"CORS header not a token", "[corsConfig]\naccessControlAllowHeaders = [\"X:Y\"]\n" + minimal, "corsConfig.accessControlAllowHeaders[0]", 2, "not an HTTP header name"},
		{"CORS unknown key", "[corsConfig]\naccessControlAllowOrigin = []\n" + minimal, "corsConfig.accessControlAllowOrigin", 2, "did you mean corsConfig.accessControlAllowOrigins?"},
		{"endpoint URL relative", "[apiEndpoints.\"/p\"]\nproduction = [\"/v2\"]\n" + minimal, `apiEndpoints."/p".production[0]`, 2, "must be an http or https URL"},
		{"endpoint URL with a query", "[apiEndpoints.\"/p\"]\nsandbox = [\"https://a\", \"https://b/v2?x=1\"]\n" + minimal, `apiEndpoints."/p".sandbox[1]`, 2, "query"},
		{"endpoint URL with credentials", "[apiEndpoints.\"/p\"]\nproduction = [\"https://u:pw@b/v2\"]\n" + minimal, `apiEndpoints."/p".production[0]`, 2, "basicUsername and basicPassword"},
		{"endpoint production empty", "[apiEndpoints.\"/p\"]\n\nproduction = []\n" + minimal, `apiEndpoints."/p".production`, 3, "is empty"},
		{"endpoint type", "[apiEndpoints.\"/p\"]\ntype = \"round_robin\"\n" + minimal, `apiEndpoints."/p".type`, 2, `"load_balance" or "failover"`},
		{"endpoint user with a colon", "[apiEndpoints.\"/p\"]\nsandboxBasicUsername = \"a:b\"\n" + minimal, `apiEndpoints."/p".sandboxBasicUsername`, 2, "colon"},
		{"endpoint unknown key", "[apiEndpoints.\"/p\"]\nproduktion = []\n" + minimal, `apiEndpoints."/p".produktion`, 2, `did you mean apiEndpoints."/p".production?`},
	}
	if len(cases) < 10 {
		t.Fatal("keep at least 10 bad confs")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file, _ := writeConf(t, tc.conf)
			_, err := Load(file, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not *Error", err)
			}
			if e.File != file || e.Key != tc.key || e.Line != tc.line || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("got %q (key %q line %d); want key %q line %d containing %q", err, e.Key, e.Line, tc.key, tc.line, tc.contain)
			}
			if !strings.HasPrefix(err.Error(), file) {
				t.Errorf("message does not start with the file: %q", err)
			}
			if strings.Contains(tc.contain, "unknown key") && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("not ErrUnknownKey: %v", err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	e := &Error{File: "conf/micro-gw.conf", Key: "listenerConfig.htpPort", Line: 12, Err: ErrUnknownKey}
	if got, want := e.Error(), "conf/micro-gw.conf:12: listenerConfig.htpPort: unknown key"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
	e = &Error{File: "conf/micro-gw.conf", Key: "log.level", Err: errors.New("bad")}
	if got, want := e.Error(), "conf/micro-gw.conf: log.level: bad"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

func TestMissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "conf", "micro-gw.conf")
	_, err := Load(file, nil)
	var e *Error
	if !errors.As(err, &e) || e.File != file || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), file) {
		t.Fatalf("got %v", err)
	}
	_, err = Load(t.TempDir(), nil)
	if err == nil {
		t.Fatal("a directory was loaded")
	}
}

func TestEnvSubstitution(t *testing.T) {
	t.Setenv("MGW_PASS", "s3cret")
	t.Setenv("MGW_PORT", "9999")
	t.Setenv("MGW_HOST", "broker")
	t.Setenv("MGW_ON", "true")
	file, _ := writeConf(t, `
[listenerConfig]
trustStorePassword = "${MGW_PASS}"
httpPort = "${MGW_PORT}"
[tokenRevocationConfig.realtime]
enableRealtimeMessageRetrieval = "${MGW_ON}"
jmsConnectionProviderUrl = "stomp://${MGW_HOST}:61613"
jmsConnectionPassword = "a$${LITERAL}b"
[tokenRevocationConfig.persistent]
endpoints = ["http://${MGW_HOST}:2379"]
`+minimal)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listener.TrustStorePassword != "s3cret" || c.Listener.HTTPPort != 9999 || !c.Revocation.Realtime.Enabled ||
		c.Revocation.Realtime.ProviderURL != "stomp://broker:61613" || c.Revocation.Realtime.Password != "a${LITERAL}b" ||
		c.Revocation.Persistent.Endpoints[0] != "http://broker:2379" {
		t.Fatalf("got %+v", c)
	}
	t.Setenv("MGW_PORT", "nine-s3cr3t")
	_, err = Load(file, nil)
	var e *Error
	if !errors.As(err, &e) || e.Key != "listenerConfig.httpPort" || e.Line != 4 {
		t.Fatalf("non-numeric port from the environment: %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows the value from the environment: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	// The file sets keys the overrides also set, so that a fault of an
	// override could be blamed on the file's line.
	file, _ := writeConf(t, "[listenerConfig]\nhttpPort = 9090\n[caching]\nenabled = true\n"+minimal)
	t.Setenv("MGW_U", "envuser")
	c, err := Load(file, []string{
		"listenerConfig.httpPort=9190",
		"b7a.log.level=TRACE",
		"authConfig.removeAuthHeaderFromOutMessage=false",
		`tokenRevocationConfig.persistent.endpoints=["http://a:2379", "http://b:2379"]`,
		"tokenRevocationConfig.realtime.jmsConnectionUsername=${MGW_U}",
		"caching.tokenCacheExpiryTime=1000",
		"jwtTokenConfig[0].audience=other",
		"jwtTokenConfig[1].issuer=second",
		"jwtTokenConfig[1].audience=aud2",
		"jwtTokenConfig[1].jwksUrl=https://idp/jwks",
		"listenerConfig.host=a=b",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Listener.HTTPPort != 9190 || c.Log.Level != "TRACE" || c.SlogLevel() != LevelTrace || c.Auth.RemoveAuthHeaderFromOutMessage ||
		!reflect.DeepEqual(c.Revocation.Persistent.Endpoints, []string{"http://a:2379", "http://b:2379"}) ||
		c.Revocation.Realtime.Username != "envuser" || c.Caching.TokenCacheExpiryTime != time.Second ||
		len(c.JWT) != 2 || c.JWT[0].Audience != "other" || c.JWT[1].JWKSURL != "https://idp/jwks" || c.Listener.Host != "a=b" {
		t.Fatalf("got %+v", c)
	}

	bad := []struct {
		override, key, contain string
	}{
		{"listenerConfig.htpPort=1", "listenerConfig.htpPort", "unknown key (did you mean listenerConfig.httpPort?)"},
		{"nope.x=1", "nope.x", "unknown key"},
		{"listenerConfig=1", "listenerConfig", "unknown key"},
		{"listenerConfig.httpPort=abc", "listenerConfig.httpPort", "must be an integer"},
		{"listenerConfig.httpPort=99999", "listenerConfig.httpPort", "out of range"},
		{"caching.enabled=maybe", "caching.enabled", "must be a boolean"},
		{"log.level", "log.level", "KEY=VALUE"},
		{"jwtTokenConfig.issuer=x", "jwtTokenConfig.issuer", "give an index"},
		{"jwtTokenConfig[5].issuer=x", "jwtTokenConfig[5].issuer", "out of range"},
		{"tokenRevocationConfig.persistent.revokedTokensFile=x", "tokenRevocationConfig.persistent.revokedTokensFile", "useDefault = false"},
		{"tokenRevocationConfig.realtime.jmsConnectionPassword=${MGW_NOT_SET_EVER}", "tokenRevocationConfig.realtime.jmsConnectionPassword", "MGW_NOT_SET_EVER is not set"},
	}
	for _, b := range bad {
		t.Run(b.override, func(t *testing.T) {
			_, err := Load(file, []string{b.override})
			var e *Error
			if !errors.As(err, &e) || e.Key != b.key || !strings.Contains(err.Error(), b.contain) {
				t.Fatalf("got %v; want key %q containing %q", err, b.key, b.contain)
			}
			// The fault is the override's, not a line's of the file
			// (which may set the same key).
			if e.Line != 0 || !strings.Contains(err.Error(), "-e override") {
				t.Errorf("got %v (line %d); want it blamed on the -e override", err, e.Line)
			}
		})
	}
	// A value given on the command line may be a secret: errors never echo it.
	for _, o := range []string{"listenerConfig.trustStorePasswrd=hunter2", "tokenRevocationConfig.realtime=hunter2",
		"listenerConfig.httpPort=hunter2", "caching.enabled=hunter2", "caching.tokenCacheExpiryTime=hunter2"} {
		_, err = Load(file, []string{o})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%s: got %v", o, err)
		}
	}
}

func TestCustomStoreSettings(t *testing.T) {
	t.Setenv("MGW_FILE", "extensions/revoked.txt")
	file, _ := writeConf(t, `
[tokenRevocationConfig.persistent]
enablePersistentStorageRetrieval = true
useDefault = false
store = "file"
revokedTokensFile = "${MGW_FILE}"
pollSeconds = 5
nested = { a = ["x"] }
`+minimal)
	c, err := Load(file, []string{"tokenRevocationConfig.persistent.extra=1"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Revocation.Persistent
	want := map[string]any{"revokedTokensFile": "extensions/revoked.txt", "pollSeconds": int64(5),
		"nested": map[string]any{"a": []any{"x"}}, "extra": "1"}
	if p.UseDefault || p.Store != "file" || !reflect.DeepEqual(p.Settings, want) {
		t.Fatalf("got %+v; want settings %v", p, want)
	}
}

func TestLogLevels(t *testing.T) {
	for level, want := range map[string]slog.Level{"TRACE": LevelTrace, "debug": slog.LevelDebug, "Info": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		file, _ := writeConf(t, "[log]\nlevel = \""+level+"\"\n"+minimal)
		c, err := Load(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.SlogLevel() != want {
			t.Errorf("%s -> %v; want %v", level, c.SlogLevel(), want)
		}
	}
	if LevelTrace >= slog.LevelDebug {
		t.Error("TRACE must be below DEBUG")
	}
	// The original's key, in the file.
	file, _ := writeConf(t, "[b7a.log]\nlevel = \"WARN\"\n"+minimal)
	c, err := Load(file, nil)
	if err != nil || c.Log.Level != "WARN" {
		t.Fatalf("b7a.log: %v %v", c, err)
	}
}

// FuzzLoad writes arbitrary bytes as a conf: Load must not panic, and must
// return either a Config or an *Error.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte(minimal))
	f.Add([]byte("[statusList]\nenabled = true\nallowedHosts = [\"a:1\", \"[::1]:8443\"]\n[ssfReceiver]\ndelivery = \"push\"\nruleTtl = 1\n" + minimal))
	f.Add([]byte("[listenerConfig]\nhttpPort = \"${X}\"\n[[jwtTokenConfig]]\n[[jwtTokenConfig]]\nbogus=1"))
	f.Add([]byte("a.b.c = { d = [1, {e = 2}] }\n[[x.y]]\n[x]\n"))
	f.Add([]byte("[tokenRevocationConfig.persistent]\nuseDefault = false\nk = 1979-05-27T07:32:00Z\n" + minimal))
	dir := f.TempDir()
	file := filepath.Join(dir, "conf", "micro-gw.conf")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(file, []string{"listenerConfig.httpPort=1"})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			_ = e.Error()
			return
		}
		if c == nil || len(c.JWT) == 0 {
			t.Fatal("accepted a conf without an issuer")
		}
	})
}

// Plain http for a JWKS is allowed to the loopback only (a sidecar, a test
// provider), where nobody can change the keys on the way.
func TestJWKSOverLoopbackHTTP(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/jwks", "https://idp.example/jwks"} {
		file, _ := writeConf(t, "[[jwtTokenConfig]]\nissuer = \"i\"\naudience = \"a\"\njwksUrl = \""+u+"\"\n")
		if _, err := Load(file, nil); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestTracingTarget(t *testing.T) {
	for endpoint, want := range map[string]struct {
		hostport string
		secure   bool
	}{
		"127.0.0.1:4317":             {"127.0.0.1:4317", false},
		"http://collector:4317":      {"collector:4317", false},
		"https://otel.example:4317/": {"otel.example:4317", true},
		"[::1]:4317":                 {"[::1]:4317", false},
	} {
		hp, secure, err := Tracing{Endpoint: endpoint}.Target()
		if err != nil || hp != want.hostport || secure != want.secure {
			t.Errorf("%s: %s %v %v", endpoint, hp, secure, err)
		}
	}
	file, _ := writeConf(t, "[tracing]\nenabled = true\n"+minimal)
	c, err := Load(file, []string{"tracing.endpoint=https://otel.example:4317"})
	if err != nil || !c.Tracing.Enabled || c.Tracing.Endpoint != "https://otel.example:4317" {
		t.Errorf("%+v %v", c.Tracing, err)
	}
	if d := Default(); d.Tracing.Enabled || d.Tracing.Endpoint != DefaultTracingEndpoint {
		t.Errorf("default %+v", d.Tracing)
	}
}

// -e sets the upstream timeout and the trusted proxies, a list as a TOML
// array; a bare value is one item, so a comma is not a separator.
func TestUpstreamAndTrustedProxiesOverridden(t *testing.T) {
	file, _ := writeConf(t, minimal)
	c, err := Load(file, []string{`throttlingConfig.trustedProxies=["10.0.0.0/8","192.168.0.1"]`, "upstream.responseTimeout=2500"})
	if err != nil {
		t.Fatal(err)
	}
	if ranges, _ := c.Throttling.TrustedRanges(); fmt.Sprint(ranges) != "[10.0.0.0/8 192.168.0.1/32]" || c.Upstream.ResponseTimeout != 2500*time.Millisecond {
		t.Errorf("trusted %v, timeout %v", ranges, c.Upstream.ResponseTimeout)
	}
	_, err = Load(file, []string{`throttlingConfig.trustedProxies=["10.0.0.0/8","nope"]`})
	if err == nil || !strings.Contains(err.Error(), "throttlingConfig.trustedProxies[1]") {
		t.Errorf("a bad entry from -e: %v", err)
	}
	if c, err := Load(file, []string{"throttlingConfig.trustedProxies=192.168.0.1"}); err != nil || len(c.Throttling.TrustedProxies) != 1 {
		t.Errorf("a bare value: %v %v", c, err)
	}
	if _, err := Load(file, []string{"throttlingConfig.trustedProxies=10.0.0.0/8,192.168.0.1"}); err == nil {
		t.Error("a bare value with a comma was split into a list")
	}
}

package config

import (
	"errors"
	"fmt"
	"strings"
)

// What a conf carried over from WSO2 API Microgateway 3.x may hold that is
// not a field of Config: other names for micro-gw's keys (aliases), keys
// accepted and not read, and sections micro-gw does not have (refused, with
// the reason).

// alias makes a key another name of the key at schema path to.
type alias struct {
	to string
	// sibling: to is a key of the alias's own table (and of the same
	// element, for an array or map of tables); else to is a fixed path.
	sibling bool
	// warn, when set, makes every use of the alias a warning: what the
	// alias is.
	warn string
	// translate, when set, turns the alias's value into the value of to.
	translate func(v any) (any, error)
}

// target is the key an alias set in table names.
func (a *alias) target(root, table ref) ref {
	if a.sibling {
		return table.to(table.node.child(a.to[strings.LastIndexByte(a.to, '.')+1:]))
	}
	r := root
	for _, name := range strings.Split(a.to, ".") {
		r = r.to(r.node.child(name))
	}
	return r
}

// withWSO2 grafts the WSO2 names onto root, the schema of Config.
func withWSO2(root *node) *node {
	// The original took its log level from the Ballerina runtime key, in the
	// file as [b7a.log] and on the command line as -e b7a.log.level=TRACE
	// (docs/configuration.md): a name of log.level, no warning.
	aliasKey(root, "b7a.log.level", &alias{to: "log.level"})
	// WSO2 3.1 evicted this fraction when the cache was full; micro-gw's
	// cache evicts one entry at a time, so the key is accepted for old
	// confs only.
	graft(root, "caching.tokenCacheEvictionFactor", &node{shape: shapeKey, kind: kind{scalar: sFloat}, ignored: true})

	// WSO2 3.2 spellings (docs/configuration.md, "Confs from WSO2 3.2"),
	// read as micro-gw's keys where they mean the same, with a warning.
	aliasKey(root, "jwtTokenConfig.jwksURL", &alias{to: "jwtTokenConfig.jwksUrl",
		warn: "WSO2 3.2's spelling; write jwksUrl"})
	aliasKey(root, persistentSection+".type", &alias{to: persistentSection + ".useDefault",
		warn:      `WSO2 3.2's choice of store: "etcd" is useDefault = true, "custom" useDefault = false; write useDefault`,
		translate: storeType})
	aliasKey(root, persistentSection+".endpointURL", &alias{to: persistentSection + ".hostname",
		warn:      "WSO2 3.2's name of the etcd URL; write hostname",
		translate: etcdURL})
	return root
}

// storeType reads WSO2 3.2's [tokenRevocationConfig.persistent] type as
// useDefault. Its "default" store was API Manager's revoked-JWT service,
// which micro-gw does not read: that is refused, naming what to use.
func storeType(v any) (any, error) {
	switch v.(string) {
	case "etcd":
		return true, nil
	case "custom":
		return false, nil
	case "default":
		return nil, errors.New(`"default" is WSO2 3.2's revoked-JWT service of API Manager (GET endpointURL/revokedjwt), which micro-gw does not read: write useDefault = true for etcd (hostname), or useDefault = false for a store of your own in extensions/`)
	}
	return nil, errors.New(`must be "etcd" or "custom" (WSO2 3.2's type; micro-gw's key is useDefault)`)
}

// etcdURL reads WSO2 3.2's endpointURL as hostname when it is an etcd URL
// (its /v2/keys/ or /v3/keys/ path gives the prefix, as hostname's does);
// any other URL was API Manager's data service of the "default" store. The
// URL is not echoed: it may hold credentials.
func etcdURL(v any) (any, error) {
	if !strings.Contains(v.(string), "/keys/") {
		return nil, errors.New("is no etcd URL (one with a /v2/keys/ or /v3/keys/ path): WSO2 3.2 gave here API Manager's data service of the \"default\" store, which micro-gw does not read; give the etcd URL as hostname, such as https://127.0.0.1:2379/v2/keys/jti/")
	}
	return v, nil
}

// aliasKey grafts the alias at schema path from, a key of the same kind as
// the one it names unless it translates.
func aliasKey(root *node, from string, a *alias) {
	to := lookup(root, a.to)
	if to == nil || to.shape != shapeKey {
		panic("config: alias " + from + " names no key " + a.to)
	}
	parent := func(p string) string { return p[:max(strings.LastIndexByte(p, '.'), 0)] }
	a.sibling = parent(from) == parent(a.to)
	if !a.sibling {
		for p := parent(a.to); p != ""; p = parent(p) {
			if n := lookup(root, p); n.shape != shapeTable {
				panic("config: alias " + from + " crosses an array or map of tables")
			}
		}
	}
	k := to.kind
	if a.translate != nil {
		k = kind{scalar: sString}
	}
	graft(root, from, &node{shape: shapeKey, kind: k, alias: a})
}

// wso2Only names the settings of a WSO2 Microgateway 3.x micro-gw.conf that
// micro-gw does not have, with what to do instead. A conf carried over from
// a WSO2 deployment is refused key by key like any other unknown key, but the
// error then says why, rather than leaving the user to wonder about a typo.
var wso2Only = map[string]string{
	"analytics":                                       "micro-gw publishes no analytics; its counters are on the admin listener's /metrics",
	"apikey":                                          "micro-gw issues no API keys itself (the original's /apikey of its token listener); micro-gw apikey issue makes one, and [[apiKeyConfig]] trusts their issuers",
	"b7a.observability":                               "micro-gw's metrics are on the admin listener's /metrics",
	"http2":                                           "micro-gw's HTTPS listener negotiates HTTP/2 by itself",
	"httpClients":                                     "micro-gw's backend client is not configured in the conf",
	"jwtConfig":                                       "the JWT header is authConfig.authorizationHeader",
	"jwtGenerator":                                    "micro-gw forwards no generated backend JWT",
	"keyManager.serverUrl":                            "micro-gw introspects opaque tokens at keyManager.introspectionUrl (RFC 7662), the whole URL",
	"keyManager.tokenContext":                         "micro-gw introspects opaque tokens at keyManager.introspectionUrl (RFC 7662), the whole URL",
	"keyManager.external":                             "micro-gw introspects any RFC 7662 endpoint, WSO2's or another's, at keyManager.introspectionUrl",
	"keyManager.timestampSkew":                        "micro-gw allows 60 s of clock skew on every token's exp and nbf",
	"listenerConfig.keyStorePath":                     "micro-gw reads its TLS pair from listenerConfig.certFile and listenerConfig.keyFile (PEM)",
	"listenerConfig.keyStorePassword":                 "micro-gw reads its TLS pair from listenerConfig.certFile and listenerConfig.keyFile (PEM)",
	"listenerConfig.tokenListenerPort":                "micro-gw has no token listener; tokens come from your token service",
	"mutualSSLConfig.protocolName":                    "micro-gw's HTTPS listener speaks TLS 1.2 and 1.3",
	"mutualSSLConfig.protocolVersions":                "micro-gw's HTTPS listener speaks TLS 1.2 and 1.3",
	"mutualSSLConfig.ciphers":                         "micro-gw's HTTPS listener uses Go's cipher suites",
	"mutualSSLConfig.certificateHeader":               "micro-gw reads client certificates from the TLS handshake only, never from a header a client could write",
	"throttlingConfig.enabledGlobalTMEventPublishing": wso2Throttling,
	"throttlingConfig.jmsConnectioninitialContextFactory": wso2Throttling,
	"throttlingConfig.jmsConnectionProviderUrl":           wso2Throttling,
	"throttlingConfig.jmsConnectionUsername":              wso2Throttling,
	"throttlingConfig.jmsConnectionPassword":              wso2Throttling,
	"throttlingConfig.throttleEndpointUrl":                wso2Throttling,
	"throttlingConfig.throttleEndpointbase64Header":       wso2Throttling,
	"throttlingConfig.binary":                             wso2Throttling,
	"validationConfig":                                    "micro-gw does not validate payloads against the definition's schemas",
}

// wso2Throttling is why the WSO2 traffic manager's keys of [throttlingConfig]
// are refused.
const wso2Throttling = "micro-gw has no WSO2 traffic manager: it counts throttling policies itself, cluster-wide in the Redis of [throttlingConfig.global] (docs/traffic.md)"

// wso2Hint returns why the key at schema path p (or a table holding it) is
// a WSO2 setting micro-gw does not have, or "".
func wso2Hint(p string) string {
	for ; p != ""; p = p[:max(strings.LastIndexByte(p, '.'), 0)] {
		if why, ok := wso2Only[p]; ok {
			return fmt.Sprintf("a WSO2 Microgateway setting that micro-gw does not have (%s); remove it", why)
		}
	}
	return ""
}

// wso2Env explains the MGW_ variables of a WSO2 Microgateway installation,
// which an environment carried over from it may still set.
var wso2Env = map[string]string{
	"MGW_HOME": "the WSO2 Microgateway's installation folder, which micro-gw does not read (a gateway finds its conf by its executable, or --config); unset it where the gateway runs",
}

// Package config reads the gateway's configuration (docs/configuration.md)
// into the tagged structs of this file: micro-gw.conf (TOML) over the
// defaults, with -e overrides on top, layered by spf13/viper (layers.go).
//
// Load is strict, so that a typo cannot silently start a gateway on
// defaults: an unknown section or key (names are case-sensitive, as in the
// WSO2 original), a value of the wrong type or a failed validation is an
// *Error naming the file, the dotted key (jwtTokenConfig[1].issuer for array
// tables) and the line, or the -e override, that set it. Viper folds keys to
// lower case and keeps no positions, so the names and the lines are checked
// here, against the struct tags (schema.go), before viper gets the values.
//
// Beyond the contract:
//   - "${NAME}" anywhere in a string is replaced by the environment variable
//     (an unset one is an error; "$${" is a literal "${"); a non-string key
//     may be written as such a string, e.g. httpPort = "${PORT}".
//   - -e overrides address array tables by index, jwtTokenConfig[0].audience
//     (the next index adds a table); a list is a TOML array, or a bare value
//     taken as a list of one.
//   - [b7a.log] level is read like [log] level, as -e b7a.log.level is.
//   - with useDefault = false the unknown keys of
//     [tokenRevocationConfig.persistent] become Persistent.Settings.
//
// A key is a field with a conf tag (schema.go says what the tags may say);
// docs/architecture.md, "Adding a configuration key", is the recipe.
package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is a loaded micro-gw.conf. Relative paths have been resolved against
// Root, durations converted, ${ENV} values substituted and -e overrides applied.
type Config struct {
	// File is the absolute path of the conf file that was read.
	File string `conf:"-"`
	// Root is the project root: the parent of the folder holding File.
	Root string `conf:"-"`
	// Warnings are about the conf (a WSO2 name read as micro-gw's): the
	// gateway logs them when it starts.
	Warnings []error `conf:"-"`

	Listener   Listener    `conf:"listenerConfig"`
	JWT        []JWTIssuer `conf:"jwtTokenConfig"`
	Auth       Auth        `conf:"authConfig"`
	Caching    Caching     `conf:"caching"`
	Revocation Revocation  `conf:"tokenRevocationConfig"`
	Log        Log         `conf:"log"`
	Tracing    Tracing     `conf:"tracing"`
	Upstream   Upstream    `conf:"upstream"`
	Throttling Throttling  `conf:"throttlingConfig"`
	CORS       CORS        `conf:"corsConfig"`
	StatusList StatusList  `conf:"statusList"`  // statuslist.go
	SSF        SSFReceiver `conf:"ssfReceiver"` // ssf.go
	// Endpoints are the [apiEndpoints."<basePath>"] tables, by base path.
	Endpoints map[string]APIEndpoints `conf:"apiEndpoints"`
	// APIKeys are the trusted issuers of API keys ([[apiKeyConfig]], WSO2
	// 3.1): the keys of a table as in [[jwtTokenConfig]], the audience
	// optional (docs/authentication.md, "API keys").
	APIKeys    []JWTIssuer `conf:"apiKeyConfig"`
	B7A        B7A         `conf:"b7a"`
	MutualSSL  MutualSSL   `conf:"mutualSSLConfig"`
	KeyManager KeyManager  `conf:"keyManager"`

	// lines maps every key and table that a layer above the defaults set
	// to where the value in effect came from: the line of File, the MGW_
	// variable, the -e override. Fault and Print read it.
	lines origins
}

// Fault returns an *Error about key (a dotted path as in Error.Key) with the
// file and where the key, or the table holding it, was set: its line, or
// the -e override. Faults found after loading (an unreadable trust store, a
// certificate that does not parse) are then reported like the loader's own.
func (c *Config) Fault(key string, err error) *Error {
	return c.lines.fault(c.File, key, err)
}

// OverrideFault returns an *Error about the -e KEY that a feature took
// (an OverrideClaim), found after loading.
func (c *Config) OverrideFault(key string, err error) *Error {
	return Origin{Source: FromFlag, Name: key}.fault(c.File, key, err)
}

// Listener is [listenerConfig].
type Listener struct {
	Host      string `conf:"host"`
	HTTPPort  int    `conf:"httpPort"`  // 0 switches the HTTP listener off
	HTTPSPort int    `conf:"httpsPort"` // 0 switches the HTTPS listener off
	AdminPort int    `conf:"adminPort"` // 0 switches the admin listener off
	CertFile  string `conf:"certFile"`  // absolute once loaded
	KeyFile   string `conf:"keyFile"`   // absolute once loaded
	// TrustStorePath is a folder of <alias>.pem files or a PKCS#12 file, absolute.
	TrustStorePath     string `conf:"trustStorePath"`
	TrustStorePassword string `conf:"trustStorePassword,secret"`
	// MaxRequestBodySize is the largest request body in bytes that is
	// passed on to a backend (413 beyond it); 0 means no limit.
	MaxRequestBodySize int64 `conf:"maxRequestBodySize"`
	// AllowEncodedSlash lets a path parameter's value hold an encoded
	// slash (%2F), as in GitHub's refs (heads%2Fmain).
	AllowEncodedSlash bool `conf:"allowEncodedSlash"`
}

// JWTIssuer is one [[jwtTokenConfig]] table.
type JWTIssuer struct {
	Issuer               string `conf:"issuer"`
	Audience             string `conf:"audience"`
	CertificateAlias     string `conf:"certificateAlias"`
	JWKSURL              string `conf:"jwksUrl"`
	ValidateSubscription bool   `conf:"validateSubscription"`
	// TokenTypes (tokenTypes) are the values of the JOSE typ header this
	// issuer's tokens must carry, such as "at+jwt" (RFC 9068), compared as
	// RFC 7515 says: case-insensitive, "application/" optional. Empty
	// accepts any typ or none, as the WSO2 gateway did.
	TokenTypes []string `conf:"tokenTypes"`
}

// B7A is the original's [b7a] table (Ballerina's runtime settings): of it
// micro-gw reads the basic-auth users, and [b7a.log] level as log.level.
type B7A struct {
	// Users are [b7a.users.<username>]: the users of http basic schemes.
	Users map[string]BasicUser `conf:"users"`
}

// BasicUser is one [b7a.users.<username>] table.
type BasicUser struct {
	// Password is the password's hash: bcrypt, argon2id or the original's
	// @sha256:{hex} (pkg/passwordhash), never the password.
	Password string `conf:"password,secret"`
	// Scopes are the scopes the user holds, against the scopes an
	// operation requires.
	Scopes []string `conf:"scopes"`
}

// MutualSSL is [mutualSSLConfig]: client certificates on the HTTPS listener.
type MutualSSL struct {
	// SSLVerifyClient is "" (off, the default), "optional" (a certificate
	// is asked for and checked on the operations that require mutual TLS)
	// or "require" (the TLS handshake fails without a trusted one).
	SSLVerifyClient string `conf:"sslVerifyClient"`
}

// Values of MutualSSL.SSLVerifyClient.
const (
	VerifyClientOptional = "optional"
	VerifyClientRequire  = "require"
)

// KeyManager is [keyManager]: RFC 7662 introspection of opaque tokens.
type KeyManager struct {
	// IntrospectionURL is the identity provider's introspection endpoint;
	// "" switches introspection off (a token that is not a JWT is refused).
	IntrospectionURL string `conf:"introspectionUrl,urlsecret"`
	// Username and Password are the gateway's client credentials at the
	// endpoint (HTTP Basic).
	Username string `conf:"username"`
	Password string `conf:"password,secret"`
}

// Auth is [authConfig].
type Auth struct {
	AuthorizationHeader            string `conf:"authorizationHeader"`
	RemoveAuthHeaderFromOutMessage bool   `conf:"removeAuthHeaderFromOutMessage"`
}

// Caching is [caching].
type Caching struct {
	Enabled              bool          `conf:"enabled"`
	TokenCacheExpiryTime time.Duration `conf:"tokenCacheExpiryTime,ms"`
	TokenCacheCapacity   int           `conf:"tokenCacheCapacity"`
}

// Revocation is [tokenRevocationConfig].
type Revocation struct {
	Realtime   Realtime   `conf:"realtime"`
	Persistent Persistent `conf:"persistent"`
}

// Realtime is [tokenRevocationConfig.realtime].
type Realtime struct {
	Enabled               bool   `conf:"enableRealtimeMessageRetrieval"`
	Topic                 string `conf:"jmsConnectionTopic"`
	InitialContextFactory string `conf:"jmsConnectioninitialContextFactory"` // accepted, unused
	ProviderURL           string `conf:"jmsConnectionProviderUrl,urlsecret"`
	Username              string `conf:"jmsConnectionUsername"`
	Password              string `conf:"jmsConnectionPassword,secret"`
}

// Persistent is [tokenRevocationConfig.persistent].
type Persistent struct {
	Enabled    bool     `conf:"enablePersistentStorageRetrieval"`
	UseDefault bool     `conf:"useDefault"`          // etcd when true, a custom store when false
	Hostname   string   `conf:"hostname,urlsecret"`  // etcd endpoint and key prefix
	Endpoints  []string `conf:"endpoints,urlsecret"` // etcd cluster members (hostname then only gives the prefix)
	Username   string   `conf:"username"`
	Password   string   `conf:"password,secret"`
	// RulesPrefix is the etcd key prefix of revocation rules (sub/<subject>,
	// client/<id>, iss/<issuer>), beside the jti prefix of hostname and not
	// under it. Default DefaultRulesPrefix.
	RulesPrefix string `conf:"rulesPrefix"`
	// BlockingPrefix is the etcd key prefix of blocking conditions
	// (<type>/<value>, docs/traffic.md), beside the jti and rules prefixes.
	// Default DefaultBlockingPrefix.
	BlockingPrefix string `conf:"blockingPrefix"`
	// ServeBeforeLoaded false (the default) refuses secured requests with
	// 503 until the first load has succeeded, so a gateway that starts while
	// the store is down cannot let a revoked token in.
	ServeBeforeLoaded bool `conf:"serveBeforeLoaded"`
	// SnapshotDir is the folder where the etcd sources keep their local
	// snapshots, from which a restart is ready without listing the prefixes
	// again (docs/revocation.md, "Snapshots"); relative to the project
	// root; empty switches them off. Default DefaultSnapshotDir.
	SnapshotDir string `conf:"snapshotDir"`
	// Store names the custom store to use when several are compiled in
	// (useDefault = false).
	Store string `conf:"store"`
	// Settings holds the section's other keys, for a custom store
	// (useDefault = false). With useDefault = true an unknown key is an error.
	Settings map[string]any `conf:",passthrough"`
}

// Log is [log].
type Log struct {
	Level string `conf:"level"` // TRACE, DEBUG, INFO, WARN, ERROR
}

// Tracing is [tracing]: W3C trace context and OTLP export of a span per
// request (docs/deploy.md).
type Tracing struct {
	// Enabled: the gateway joins (or starts) the request's trace, passes
	// it to the backend and exports its span.
	Enabled bool `conf:"enabled"`
	// Endpoint is the OTLP/gRPC receiver: host:port (plain text),
	// http://host:port (plain text) or https://host:port (TLS).
	Endpoint string `conf:"endpoint"`
}

// Upstream is [upstream]: how the gateway talks to backends.
type Upstream struct {
	// ResponseTimeout is how long a backend may take to start its response
	// when its endpoint has no advanceEndpointConfig.timeoutInMillis of its
	// own; 0 waits as long as the client does.
	ResponseTimeout time.Duration `conf:"responseTimeout,ms"`
}

// Throttling is [throttlingConfig].
type Throttling struct {
	// TrustedProxies are the address ranges of the proxies in front of the
	// gateway ("10.0.0.0/8"; a bare address is one host). A request that
	// comes through them is taken to come from the rightmost
	// X-Forwarded-For address outside these ranges (docs/runtime.md, "The
	// client address"). TrustedRanges reads them.
	TrustedProxies []string `conf:"trustedProxies"`
	// Global is [throttlingConfig.global]: counters in Redis, shared by a
	// fleet of gateways (docs/traffic.md).
	Global GlobalThrottling `conf:"global"`
}

// GlobalThrottling is [throttlingConfig.global].
type GlobalThrottling struct {
	// Enabled puts every throttling counter in the Redis of RedisURL.
	Enabled bool `conf:"enabled"`
	// RedisURL is redis://[user:password@]host:port/db (rediss:// for TLS).
	RedisURL string `conf:"redisUrl,urlsecret"`
	// Timeout bounds one round trip to Redis; a call that takes longer
	// counts as Redis being away (the gateway then counts locally).
	Timeout time.Duration `conf:"timeout,ms"`
	// KeyPrefix starts every counter's key in Redis.
	KeyPrefix string `conf:"keyPrefix"`
}

// TrustedRanges returns TrustedProxies as address ranges; Load has checked
// each, so the error only names an entry set after loading.
func (t Throttling) TrustedRanges() ([]netip.Prefix, error) {
	if len(t.TrustedProxies) == 0 {
		return nil, nil
	}
	ranges := make([]netip.Prefix, 0, len(t.TrustedProxies))
	for i, s := range t.TrustedProxies {
		p, err := addressRange(s)
		if err != nil {
			return nil, fmt.Errorf("trustedProxies[%d]: %w", i, err)
		}
		ranges = append(ranges, p)
	}
	return ranges, nil
}

// addressRange reads a trustedProxies entry: a CIDR range ("10.0.0.0/8",
// "2001:db8::/32") or one address, which is a range of one. Client addresses
// are compared unmapped, so an IPv4-mapped range is taken as IPv4.
func addressRange(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address range such as \"10.0.0.0/8\" or \"2001:db8::/32\"", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or an address range such as \"10.0.0.0/8\"", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

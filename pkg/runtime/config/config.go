// Package config reads micro-gw.conf, the gateway's TOML configuration
// (design.md section 5), into typed structs.
//
// Load is strict, so that a typo cannot silently start a gateway on
// defaults: an unknown section or key (names are case-sensitive, as in the
// WSO2 original), a value of the wrong type or a failed validation is an
// *Error naming the file, the dotted key (jwtTokenConfig[1].issuer for array
// tables) and the line. The file is decoded with go-toml/v2 rather than
// viper, because viper folds keys to lower case and drops positions.
//
// Beyond the contract:
//   - "${NAME}" anywhere in a string is replaced by the environment variable
//     (an unset one is an error; "$${" is a literal "${"); a non-string key
//     may be written as such a string, e.g. httpPort = "${PORT}".
//   - -e overrides address array tables by index, jwtTokenConfig[0].audience
//     (the next index adds a table); array values are comma lists.
//   - [b7a.log] level is read like [log] level, as -e b7a.log.level is.
//   - with useDefault = false the unknown keys of
//     [tokenRevocationConfig.persistent] become Persistent.Settings.
package config

import "time"

// Config is a loaded micro-gw.conf. Relative paths have been resolved against
// Root, durations converted, ${ENV} values substituted and -e overrides applied.
type Config struct {
	// File is the absolute path of the conf file that was read.
	File string
	// Root is the project root: the parent of the folder holding File.
	Root string

	Listener   Listener    // [listenerConfig]
	JWT        []JWTIssuer // [[jwtTokenConfig]]
	Auth       Auth        // [authConfig]
	Caching    Caching     // [caching]
	Revocation Revocation  // [tokenRevocationConfig]
	Log        Log         // [log]

	// lines maps the keys written in File to their lines, for Fault.
	lines map[string]int
}

// Fault returns an *Error about key (a dotted path as in Error.Key) with the
// file and, when the key is written there, its line. Faults found after
// loading (an unreadable trust store, a certificate that does not parse)
// are then reported like the loader's own.
func (c *Config) Fault(key string, err error) *Error {
	return &Error{File: c.File, Key: key, Line: lineOf(c.lines, key), Err: err}
}

// Listener is [listenerConfig].
type Listener struct {
	Host      string // host
	HTTPPort  int    // httpPort; 0 switches the HTTP listener off
	HTTPSPort int    // httpsPort; 0 switches the HTTPS listener off
	AdminPort int    // adminPort; 0 switches the admin listener off
	CertFile  string // certFile, absolute
	KeyFile   string // keyFile, absolute
	// TrustStorePath is a folder of <alias>.pem files or a PKCS#12 file, absolute.
	TrustStorePath     string
	TrustStorePassword string
	// MaxRequestBodySize is maxRequestBodySize: the largest request body in
	// bytes that is passed on to a backend (413 beyond it); 0 means no limit.
	MaxRequestBodySize int64
	// AllowEncodedSlash is allowEncodedSlash: a path parameter's value may
	// hold an encoded slash (%2F), as in GitHub's refs (heads%2Fmain).
	AllowEncodedSlash bool
}

// JWTIssuer is one [[jwtTokenConfig]] table.
type JWTIssuer struct {
	Issuer               string // issuer
	Audience             string // audience
	CertificateAlias     string // certificateAlias
	JWKSURL              string // jwksUrl
	ValidateSubscription bool   // validateSubscription
	// TokenTypes (tokenTypes) are the values of the JOSE typ header this
	// issuer's tokens must carry, such as "at+jwt" (RFC 9068), compared as
	// RFC 7515 says: case-insensitive, "application/" optional. Empty
	// accepts any typ or none, as the WSO2 gateway did.
	TokenTypes []string
}

// Auth is [authConfig].
type Auth struct {
	AuthorizationHeader            string // authorizationHeader
	RemoveAuthHeaderFromOutMessage bool   // removeAuthHeaderFromOutMessage
}

// Caching is [caching].
type Caching struct {
	Enabled bool // enabled
	// TokenCacheExpiryTime is tokenCacheExpiryTime (milliseconds in the file).
	TokenCacheExpiryTime time.Duration
	TokenCacheCapacity   int // tokenCacheCapacity
}

// Revocation is [tokenRevocationConfig].
type Revocation struct {
	Realtime   Realtime   // [tokenRevocationConfig.realtime]
	Persistent Persistent // [tokenRevocationConfig.persistent]
}

// Realtime is [tokenRevocationConfig.realtime].
type Realtime struct {
	Enabled               bool   // enableRealtimeMessageRetrieval
	Topic                 string // jmsConnectionTopic
	InitialContextFactory string // jmsConnectioninitialContextFactory (accepted, unused)
	ProviderURL           string // jmsConnectionProviderUrl
	Username              string // jmsConnectionUsername
	Password              string // jmsConnectionPassword
}

// Persistent is [tokenRevocationConfig.persistent].
type Persistent struct {
	Enabled    bool     // enablePersistentStorageRetrieval
	UseDefault bool     // useDefault: etcd when true, a custom store when false
	Hostname   string   // hostname: etcd endpoint and key prefix
	Endpoints  []string // endpoints: etcd cluster members (hostname then only gives the prefix)
	Username   string   // username
	Password   string   // password
	// RulesPrefix is rulesPrefix: the etcd key prefix of revocation rules
	// (sub/<subject>, client/<id>, iss/<issuer>), beside the jti prefix of
	// hostname and not under it. Default DefaultRulesPrefix.
	RulesPrefix string
	// ServeBeforeLoaded is serveBeforeLoaded: when false (the default) secured
	// requests are refused with 503 until the first load has succeeded, so a
	// gateway that starts while the store is down cannot let a revoked token in.
	ServeBeforeLoaded bool
	// Store is store: the name of the custom store to use when several are
	// compiled in (useDefault = false).
	Store string
	// Settings holds the section's other keys, for a custom store
	// (useDefault = false). With useDefault = true an unknown key is an error.
	Settings map[string]any
}

// Log is [log].
type Log struct {
	Level string // level: TRACE, DEBUG, INFO, WARN, ERROR
}

package config

import "time"

// kind is the type a key's value must have.
type kind int

const (
	kString  kind = iota // TOML string
	kInt                 // TOML integer
	kBool                // TOML boolean
	kStrings             // TOML array of strings; a comma list in -e
	kMillis              // TOML integer of milliseconds, stored as a time.Duration
	kNumber              // TOML integer or float, accepted and unused
)

func (k kind) String() string {
	switch k {
	case kInt, kMillis:
		return "an integer"
	case kBool:
		return "a boolean"
	case kStrings:
		return "an array of strings"
	case kNumber:
		return "a number"
	default:
		return "a string"
	}
}

// field is one known key. set receives a value already converted to the
// field's kind (string, int, bool, []string, time.Duration or float64) and,
// for keys of [[jwtTokenConfig]], the index of the table.
type field struct {
	kind kind
	set  func(c *Config, idx int, v any)
}

// The schema is written out key by key rather than derived from struct tags,
// because the TOML names (the WSO2 ones, case-sensitive) do not follow the Go
// names and a few keys (b7a.log.level, tokenCacheEvictionFactor) map to
// nothing or to a shared field.

// tables lists every known table path; arrayTables those written [[...]].
var (
	tables = map[string]bool{
		"listenerConfig":                   true,
		"jwtTokenConfig":                   true,
		"authConfig":                       true,
		"caching":                          true,
		"tokenRevocationConfig":            true,
		"tokenRevocationConfig.realtime":   true,
		"tokenRevocationConfig.persistent": true,
		"log":                              true,
		"b7a":                              true,
		"b7a.log":                          true,
	}
	arrayTables = map[string]bool{"jwtTokenConfig": true}
)

// persistentSection holds the keys that reach a custom store as Settings.
const persistentSection = "tokenRevocationConfig.persistent"

func str(f func(c *Config, s string)) field {
	return field{kString, func(c *Config, _ int, v any) { f(c, v.(string)) }}
}

func integer(f func(c *Config, n int)) field {
	return field{kInt, func(c *Config, _ int, v any) { f(c, v.(int)) }}
}

func boolean(f func(c *Config, b bool)) field {
	return field{kBool, func(c *Config, _ int, v any) { f(c, v.(bool)) }}
}

func issuerStr(f func(j *JWTIssuer, s string)) field {
	return field{kString, func(c *Config, i int, v any) { f(&c.JWT[i], v.(string)) }}
}

var fields = map[string]field{
	"listenerConfig.host":               str(func(c *Config, s string) { c.Listener.Host = s }),
	"listenerConfig.httpPort":           integer(func(c *Config, n int) { c.Listener.HTTPPort = n }),
	"listenerConfig.httpsPort":          integer(func(c *Config, n int) { c.Listener.HTTPSPort = n }),
	"listenerConfig.adminPort":          integer(func(c *Config, n int) { c.Listener.AdminPort = n }),
	"listenerConfig.certFile":           str(func(c *Config, s string) { c.Listener.CertFile = s }),
	"listenerConfig.keyFile":            str(func(c *Config, s string) { c.Listener.KeyFile = s }),
	"listenerConfig.trustStorePath":     str(func(c *Config, s string) { c.Listener.TrustStorePath = s }),
	"listenerConfig.trustStorePassword": str(func(c *Config, s string) { c.Listener.TrustStorePassword = s }),
	"listenerConfig.maxRequestBodySize": integer(func(c *Config, n int) { c.Listener.MaxRequestBodySize = int64(n) }),
	"listenerConfig.allowEncodedSlash":  boolean(func(c *Config, b bool) { c.Listener.AllowEncodedSlash = b }),

	"jwtTokenConfig.issuer":           issuerStr(func(j *JWTIssuer, s string) { j.Issuer = s }),
	"jwtTokenConfig.audience":         issuerStr(func(j *JWTIssuer, s string) { j.Audience = s }),
	"jwtTokenConfig.certificateAlias": issuerStr(func(j *JWTIssuer, s string) { j.CertificateAlias = s }),
	"jwtTokenConfig.jwksUrl":          issuerStr(func(j *JWTIssuer, s string) { j.JWKSURL = s }),
	"jwtTokenConfig.validateSubscription": {kBool, func(c *Config, i int, v any) {
		c.JWT[i].ValidateSubscription = v.(bool)
	}},
	"jwtTokenConfig.tokenTypes": {kStrings, func(c *Config, i int, v any) {
		c.JWT[i].TokenTypes = v.([]string)
	}},

	"authConfig.authorizationHeader":            str(func(c *Config, s string) { c.Auth.AuthorizationHeader = s }),
	"authConfig.removeAuthHeaderFromOutMessage": boolean(func(c *Config, b bool) { c.Auth.RemoveAuthHeaderFromOutMessage = b }),

	"caching.enabled": boolean(func(c *Config, b bool) { c.Caching.Enabled = b }),
	"caching.tokenCacheExpiryTime": {kMillis, func(c *Config, _ int, v any) {
		c.Caching.TokenCacheExpiryTime = v.(time.Duration)
	}},
	"caching.tokenCacheCapacity": integer(func(c *Config, n int) { c.Caching.TokenCacheCapacity = n }),
	// WSO2 3.1 evicted this fraction when the cache was full; our cache
	// evicts one entry at a time, so the key is accepted for old confs only.
	"caching.tokenCacheEvictionFactor": {kNumber, func(*Config, int, any) {}},

	"tokenRevocationConfig.realtime.enableRealtimeMessageRetrieval":     boolean(func(c *Config, b bool) { c.Revocation.Realtime.Enabled = b }),
	"tokenRevocationConfig.realtime.jmsConnectionTopic":                 str(func(c *Config, s string) { c.Revocation.Realtime.Topic = s }),
	"tokenRevocationConfig.realtime.jmsConnectioninitialContextFactory": str(func(c *Config, s string) { c.Revocation.Realtime.InitialContextFactory = s }),
	"tokenRevocationConfig.realtime.jmsConnectionProviderUrl":           str(func(c *Config, s string) { c.Revocation.Realtime.ProviderURL = s }),
	"tokenRevocationConfig.realtime.jmsConnectionUsername":              str(func(c *Config, s string) { c.Revocation.Realtime.Username = s }),
	"tokenRevocationConfig.realtime.jmsConnectionPassword":              str(func(c *Config, s string) { c.Revocation.Realtime.Password = s }),

	"tokenRevocationConfig.persistent.enablePersistentStorageRetrieval": boolean(func(c *Config, b bool) { c.Revocation.Persistent.Enabled = b }),
	"tokenRevocationConfig.persistent.useDefault":                       boolean(func(c *Config, b bool) { c.Revocation.Persistent.UseDefault = b }),
	"tokenRevocationConfig.persistent.hostname":                         str(func(c *Config, s string) { c.Revocation.Persistent.Hostname = s }),
	"tokenRevocationConfig.persistent.endpoints": {kStrings, func(c *Config, _ int, v any) {
		c.Revocation.Persistent.Endpoints = v.([]string)
	}},
	"tokenRevocationConfig.persistent.username":          str(func(c *Config, s string) { c.Revocation.Persistent.Username = s }),
	"tokenRevocationConfig.persistent.password":          str(func(c *Config, s string) { c.Revocation.Persistent.Password = s }),
	"tokenRevocationConfig.persistent.rulesPrefix":       str(func(c *Config, s string) { c.Revocation.Persistent.RulesPrefix = s }),
	"tokenRevocationConfig.persistent.serveBeforeLoaded": boolean(func(c *Config, b bool) { c.Revocation.Persistent.ServeBeforeLoaded = b }),
	"tokenRevocationConfig.persistent.store":             str(func(c *Config, s string) { c.Revocation.Persistent.Store = s }),

	"log.level": str(func(c *Config, s string) { c.Log.Level = s }),
	// The original took its log level from the Ballerina runtime key, in the
	// file as [b7a.log] and on the command line as -e b7a.log.level=TRACE.
	"b7a.log.level": str(func(c *Config, s string) { c.Log.Level = s }),
}

package config

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// Defaults of docs/configuration.md, which are the WSO2 API Microgateway 3.x
// defaults, so that a conf migrated from the original behaves the same.
const (
	DefaultHost                = "0.0.0.0"
	DefaultHTTPPort            = 9090
	DefaultHTTPSPort           = 9095
	DefaultAdminPort           = 9096
	DefaultCertFile            = "security/gateway.crt"
	DefaultKeyFile             = "security/gateway.key"
	DefaultTrustStorePath      = "security/truststore"
	DefaultAuthorizationHeader = "Authorization"
	DefaultTokenCacheExpiry    = 900000 * time.Millisecond
	DefaultTokenCacheCapacity  = 10000
	DefaultTopic               = "tokenRevocation"
	DefaultInitialContext      = "bmbInitialContextFactory"
	DefaultProviderURL         = "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'"
	DefaultEtcdHostname        = "https://127.0.0.1:2379/v2/keys/jti/"
	DefaultEtcdUsername        = "root"
	DefaultEtcdPassword        = "root"
	// DefaultRulesPrefix is rulesPrefix: where revocation rules live in etcd
	// (revocation.DefaultRulesPrefix).
	DefaultRulesPrefix = "revocation-rules/"
	// DefaultBlockingPrefix is blockingPrefix: where blocking conditions
	// live in etcd (revocation.DefaultBlockingPrefix).
	DefaultBlockingPrefix = "blocking/"
	// DefaultSnapshotDir is snapshotDir: beside the project's conf/ and
	// target/ folders.
	DefaultSnapshotDir = "var/revocation"
	DefaultLogLevel    = "INFO"
	// DefaultTracingEndpoint is an OpenTelemetry Collector (or agent) on
	// the same host, on OTLP/gRPC's port.
	DefaultTracingEndpoint = "127.0.0.1:4317"
	// DefaultResponseTimeout is [upstream] responseTimeout: a minute for a
	// backend to start its response (docs/runtime.md).
	DefaultResponseTimeout = 60000 * time.Millisecond
	// DefaultMaxRequestBodySize is 10 MiB: far above what an API call
	// carries, low enough that a client cannot stream gigabytes through.
	DefaultMaxRequestBodySize = 10 << 20
	// DefaultRedisURL, DefaultRedisTimeout and DefaultRedisKeyPrefix are
	// [throttlingConfig.global]'s.
	DefaultRedisURL       = "redis://127.0.0.1:6379/0"
	DefaultRedisTimeout   = 100 * time.Millisecond
	DefaultRedisKeyPrefix = "microgw:throttle:"

	// DefaultIssuer, DefaultAudience and DefaultCertificateAlias are the
	// [[jwtTokenConfig]] that `micro-gw init` writes: the development issuer.
	DefaultIssuer           = "https://localhost:9443/oauth2/token"
	DefaultAudience         = "http://org.wso2.apimgt/gateway"
	DefaultCertificateAlias = "wso2apim"
	// DefaultAPIKeyIssuer is the issuer of the [[apiKeyConfig]] that
	// `micro-gw init` writes: the development key signs API keys under
	// this name, so that a key is no access token and a token no key.
	DefaultAPIKeyIssuer = "https://localhost:9443/apikey"
)

// LevelTrace is the slog level of TRACE: below DEBUG, as b7a.log.level=TRACE
// was in the original, for logs too chatty even for debugging.
const LevelTrace = slog.LevelDebug - 4

// Default returns the configuration of a conf file that sets nothing but the
// one development issuer of `micro-gw init`. File and Root are empty, so the
// paths stay relative; tests set what they need on the copy they get.
func Default() *Config {
	return &Config{
		Listener: Listener{
			Host:               DefaultHost,
			HTTPPort:           DefaultHTTPPort,
			HTTPSPort:          DefaultHTTPSPort,
			AdminPort:          DefaultAdminPort,
			MaxRequestBodySize: DefaultMaxRequestBodySize,
			CertFile:           DefaultCertFile,
			KeyFile:            DefaultKeyFile,
			TrustStorePath:     DefaultTrustStorePath,
		},
		JWT: []JWTIssuer{{
			Issuer:           DefaultIssuer,
			Audience:         DefaultAudience,
			CertificateAlias: DefaultCertificateAlias,
		}},
		Auth: Auth{
			AuthorizationHeader:            DefaultAuthorizationHeader,
			RemoveAuthHeaderFromOutMessage: true,
		},
		Caching: Caching{
			Enabled:              true,
			TokenCacheExpiryTime: DefaultTokenCacheExpiry,
			TokenCacheCapacity:   DefaultTokenCacheCapacity,
		},
		Revocation: Revocation{
			Realtime: Realtime{
				Topic:                 DefaultTopic,
				InitialContextFactory: DefaultInitialContext,
				ProviderURL:           DefaultProviderURL,
			},
			Persistent: Persistent{
				UseDefault:     true,
				Hostname:       DefaultEtcdHostname,
				Username:       DefaultEtcdUsername,
				Password:       DefaultEtcdPassword,
				RulesPrefix:    DefaultRulesPrefix,
				BlockingPrefix: DefaultBlockingPrefix,
				SnapshotDir:    DefaultSnapshotDir,
			},
		},
		Log:      Log{Level: DefaultLogLevel},
		Tracing:  Tracing{Endpoint: DefaultTracingEndpoint},
		Upstream: Upstream{ResponseTimeout: DefaultResponseTimeout},
		SSF: SSFReceiver{Delivery: DefaultSSFDelivery, PollInterval: DefaultSSFPollInterval,
			PushListen: DefaultSSFPushListen, RuleTTL: DefaultSSFRuleTTL},
		CORS: CORS{
			AllowOrigins: slices.Clone(cors.DefaultAllowOrigins),
			AllowHeaders: slices.Clone(cors.DefaultAllowHeaders),
			AllowMethods: slices.Clone(cors.DefaultAllowMethods),
		},
		Throttling: Throttling{Global: GlobalThrottling{
			RedisURL:  DefaultRedisURL,
			Timeout:   DefaultRedisTimeout,
			KeyPrefix: DefaultRedisKeyPrefix,
		}},
	}
}

// SlogLevel maps the [log] level to a slog.Level; TRACE is LevelTrace. An
// unknown level (Load refuses those) maps to INFO.
func (l Log) SlogLevel() slog.Level {
	switch strings.ToUpper(l.Level) {
	case "TRACE":
		return LevelTrace
	case "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// SlogLevel is c.Log.SlogLevel(), for callers holding the whole Config.
func (c *Config) SlogLevel() slog.Level { return c.Log.SlogLevel() }

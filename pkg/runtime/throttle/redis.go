package throttle

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// takeScript is a whole request in one atomic round trip: KEYS are its
// counters, ARGV[2i-1] and ARGV[2i] the limit and window (ms) of KEYS[i].
// If any counter is used up it answers {i, ms until its window ends} and
// counts nothing; otherwise it counts the request against every counter
// and answers {0, 0}. A counter is a string key holding the count, created
// by the first request of its window with an expiry of the window: Redis
// deletes it when the window ends, so every gateway sees the same windows,
// timed by Redis's one clock, and an idle counter costs nothing. A key left
// without an expiry (by hand) is given one rather than counting forever.
var takeScript = redis.NewScript(`
for i = 1, #KEYS do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if c >= tonumber(ARGV[2*i-1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[2*i])
      ttl = tonumber(ARGV[2*i])
    end
    return {i, ttl}
  end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 or redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2*i])
  end
end
return {0, 0}
`)

// RedisConfig is [throttlingConfig.global].
type RedisConfig struct {
	// URL is redisUrl: redis://[user:password@]host:port/db, rediss:// for TLS.
	URL string
	// TLS is used for rediss://: RootCAs from the gateway's trust store.
	TLS *tls.Config
	// Timeout bounds one round trip (and a connection); a call that takes
	// longer counts as Redis being away.
	Timeout time.Duration
	// KeyPrefix starts every key, so that fleets sharing a Redis keep their
	// counters apart.
	KeyPrefix string
}

// Redis counts in a Redis server that a fleet of gateways shares: one
// atomic round trip (takeScript) per request, whatever its number of
// counters.
type Redis struct {
	client *redis.Client
	prefix string
	addr   string
}

// quietRedis keeps go-redis's own log (failed dials, to stderr) out of the
// gateway's: Global reports Redis's state itself. go-redis has one logger
// per process.
var quietRedis sync.Once

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

// NewRedis checks cfg and returns a store that connects on its first use.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redisUrl: %s", redactRedisError(err, cfg.URL))
	}
	if opt.TLSConfig != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLS != nil {
			tc = cfg.TLS.Clone()
		}
		tc.ServerName = opt.TLSConfig.ServerName
		opt.TLSConfig = tc
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = timeout, timeout, timeout, timeout
	opt.ContextTimeoutEnabled = true
	// No retries: a request waits for one round trip at most, and Global
	// counts locally instead when it fails.
	opt.MaxRetries = -1
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	quietRedis.Do(func() { redis.SetLogger(discardLogger{}) })
	return &Redis{client: redis.NewClient(opt), prefix: cfg.KeyPrefix, addr: opt.Addr}, nil
}

// DefaultRedisTimeout is a round trip's bound when none is configured.
const DefaultRedisTimeout = 100 * time.Millisecond

// Addr is the host:port of the Redis server, for logs.
func (r *Redis) Addr() string { return r.addr }

// take runs takeScript for cs; an error means Redis did not answer.
func (r *Redis) take(ctx context.Context, cs []Counter) (int, time.Duration, error) {
	keys := make([]string, len(cs))
	args := make([]any, 0, 2*len(cs))
	for i, c := range cs {
		keys[i] = r.prefix + c.Key
		args = append(args, c.Limit, max(c.Window.Milliseconds(), 1))
	}
	res, err := takeScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 || res[0] < 0 || res[0] > int64(len(cs)) {
		return 0, 0, fmt.Errorf("redis: unexpected answer %v to the throttling script", res)
	}
	if res[0] == 0 {
		return -1, 0, nil
	}
	return int(res[0] - 1), retryAfter(time.Duration(res[1]) * time.Millisecond), nil
}

// ping asks whether Redis answers.
func (r *Redis) ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// redactRedisError keeps the password of raw out of err's message.
func redactRedisError(err error, raw string) string {
	msg := err.Error()
	u, perr := url.Parse(raw)
	if perr != nil || u.User == nil {
		return msg
	}
	if pass, ok := u.User.Password(); ok && pass != "" {
		msg = strings.ReplaceAll(msg, pass, "xxxxx")
	}
	return msg
}

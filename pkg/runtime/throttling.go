package runtime

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/runtime/throttle"
)

// counterSweepInterval is how often ended windows leave the local store.
const counterSweepInterval = 30 * time.Second

// The levels of a throttling counter: the metric's level label and the
// first part of a counter's key.
const (
	levelResource     = "resource"
	levelAPI          = "api"
	levelApplication  = "application"
	levelSubscription = "subscription"
)

// throttling is the throttle stage's state: where counters are kept, and
// the token-named policies by name.
type throttling struct {
	store  throttle.Store
	local  *throttle.Local
	global *throttle.Global // nil unless [throttlingConfig.global] is on
	// application and subscription are the policies a token's tiers name.
	application  map[string]*Policy
	subscription map[string]*Policy
}

// routeLimit is a route's resource counter: its operation's own tier, or
// its API's, shared by every caller.
type routeLimit struct {
	counter throttle.Counter
	policy  string
	level   string
}

// newThrottling provisions throttling when the spec uses it: a route with a
// tier other than Unlimited, or application or subscription policies that
// tokens may name. It returns nil otherwise (the stage is then absent). A
// tier that names no policy is an error (micro-gw build refuses it first).
func (s *Server) newThrottling() (*throttling, error) {
	p := s.spec.Policies
	resource := map[string]*Policy{}
	for i := range p.Resource {
		resource[p.Resource[i].Name] = &p.Resource[i]
	}
	used := len(p.Application) > 0 || len(p.Subscription) > 0
	for _, api := range s.spec.APIs {
		tiers := append([]string{api.ThrottlingTier}, make([]string, 0, len(api.Resources))...)
		for _, r := range api.Resources {
			tiers = append(tiers, r.ThrottlingTier)
		}
		for _, t := range tiers {
			if t == "" || t == Unlimited {
				continue
			}
			if resource[t] == nil {
				return nil, fmt.Errorf("api %s (%s): throttling tier %q names no resource policy", api.Title, api.Source, t)
			}
			used = true
		}
	}
	if !used {
		return nil, nil
	}
	t := &throttling{local: throttle.NewLocal(), application: byName(p.Application), subscription: byName(p.Subscription)}
	t.store = t.local
	if g := s.cfg.Throttling.Global; g.Enabled {
		r, err := throttle.NewRedis(throttle.RedisConfig{
			URL: g.RedisURL, Timeout: g.Timeout, KeyPrefix: g.KeyPrefix,
			TLS: &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12},
		})
		if err != nil {
			return nil, s.cfg.Fault("throttlingConfig.global.redisUrl", err)
		}
		t.global = throttle.NewGlobal(r, t.local, s.logger)
		t.global.OnMode = s.metrics.setThrottlingMode
		t.store = t.global
	}
	s.metrics.registerThrottling(t)
	return t, nil
}

func byName(list []Policy) map[string]*Policy {
	m := make(map[string]*Policy, len(list))
	for i := range list {
		m[list[i].Name] = &list[i]
	}
	return m
}

// limitOf is the resource counter of r: the operation's own tier (counted
// per method and path template), else the API's (counted once for the
// API's operations without a tier of their own); nil for none or
// Unlimited. The key names the policy, so that a tier changed by a new
// build starts a counter of its own.
func (s *Server) limitOf(r *route) *routeLimit {
	level, tier, ids := levelResource, r.resource.ThrottlingTier, []string{r.resource.Method, r.template}
	if tier == "" {
		level, tier, ids = levelAPI, r.api.ThrottlingTier, []string{r.api.BasePath}
	}
	if tier == "" || tier == Unlimited {
		return nil
	}
	for i := range s.spec.Policies.Resource {
		if p := &s.spec.Policies.Resource[i]; p.Name == tier {
			key := throttle.Key(append([]string{level, p.Name}, ids...)...)
			return &routeLimit{counter: throttle.Counter{Key: key, Limit: p.Count, Window: p.Unit}, policy: p.Name, level: level}
		}
	}
	return nil
}

// start runs the local store's sweeper and, with Redis, its prober until
// ctx is done.
func (t *throttling) start(ctx context.Context) {
	go t.local.RunSweeper(ctx, counterSweepInterval)
	if t.global != nil {
		go t.global.Run(ctx)
	}
}

// throttle counts the request against its quotas (docs/traffic.md): the
// token's application policy (per application and user), its subscription
// policy for this API (per application and API), and the route's resource
// policy (shared by every caller), in that order, so that a client over its
// own quota uses up nothing that others share. A used-up quota is 429 with
// Retry-After and the original's code: 900803, 900804 or 900802.
func (s *Server) throttle(next stage) stage {
	t := s.throttling
	if t == nil {
		return next
	}
	return func(x *exchange, r *http.Request) {
		var buf [3]throttle.Counter
		var levels [3]string
		var names [3]string
		cs := buf[:0]
		add := func(c throttle.Counter, level, policy string) {
			levels[len(cs)], names[len(cs)] = level, policy
			cs = append(cs, c)
		}
		if c := x.cred; c != nil {
			app := c.application()
			if p := t.application[c.applicationTier()]; p != nil {
				add(throttle.Counter{Key: throttle.Key(levelApplication, p.Name, app, c.ruleToken().Subject), Limit: p.Count, Window: p.Unit}, levelApplication, p.Name)
			}
			api := x.route.api
			if p := t.subscription[c.subscriptionTier(api.Title, api.Version)]; p != nil {
				add(throttle.Counter{Key: throttle.Key(levelSubscription, p.Name, app, api.BasePath), Limit: p.Count, Window: p.Unit}, levelSubscription, p.Name)
			}
		}
		if l := x.route.limit; l != nil {
			add(l.counter, l.level, l.policy)
		}
		if len(cs) == 0 {
			next(x, r)
			return
		}
		i, retry := t.store.Take(r.Context(), cs)
		if i < 0 {
			next(x, r)
			return
		}
		s.metrics.throttled.WithLabelValues(x.route.metrics.api, names[i], levels[i]).Inc()
		code := CodeThrottledResource
		switch levels[i] {
		case levelApplication:
			code = CodeThrottledApplication
		case levelSubscription:
			code = CodeThrottledSubscription
		}
		secs := int64(retry / time.Second)
		x.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		x.fail(newFault(code, "You have exceeded your quota. You can access the API again after "+
			time.Now().Add(retry).UTC().Truncate(time.Second).Format(time.RFC3339)))
	}
}

// registerThrottling adds the throttling metrics that depend on the store.
func (m *metrics) registerThrottling(t *throttling) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "microgw_throttling_counters",
		Help: "Throttling counters held in the gateway's memory (local counting; ended windows are swept every 30 s).",
	}, func() float64 { return float64(t.local.Len()) }))
	if t.global != nil {
		m.registry.MustRegister(m.throttlingMode)
		m.setThrottlingMode(false)
	}
}

// setThrottlingMode sets microgw_throttling_mode: which store counts.
func (m *metrics) setThrottlingMode(redis bool) {
	r, l := 0.0, 1.0
	if redis {
		r, l = 1, 0
	}
	m.throttlingMode.WithLabelValues("redis").Set(r)
	m.throttlingMode.WithLabelValues("local").Set(l)
}

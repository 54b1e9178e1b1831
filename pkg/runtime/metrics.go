package runtime

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the gateway's Prometheus metrics, registered in a registry of
// the Server's own (no global state). The revocation sources register their
// own (microgw_revocation_broker_connected, microgw_revocation_store_loaded,
// ...) in the same registry. Labels are bounded: api is the API's
// title and version, resource the path template (never the raw path), reason
// one of the validator's fixed reasons.
type metrics struct {
	registry       *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	authFailures   *prometheus.CounterVec
	backendErrors  *prometheus.CounterVec
	backendRetries *prometheus.CounterVec
	panics         prometheus.Counter
	revoked        prometheus.GaugeFunc
	rules          prometheus.GaugeFunc
	sourceReady    *prometheus.GaugeVec
	// throttled counts 429s by API, policy and level; throttlingMode is
	// registered with [throttlingConfig.global] only.
	throttled      *prometheus.CounterVec
	throttlingMode *prometheus.GaugeVec
	// blocked counts 403 900805s by API and kind of condition.
	blocked   *prometheus.CounterVec
	unmatched *routeMetrics
}

func newMetrics(revokedLen, rulesLen func() float64) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		registry: reg,
		requests: counterVec("microgw_requests_total",
			"Requests answered by the gateway, by API, resource (path template), method and status.", "api", "resource", "method", "status"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "microgw_request_duration_seconds",
			Help:    "Time from the request's arrival to the end of the response, by API and resource.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api", "resource"}),
		authFailures: counterVec("microgw_auth_failures_total",
			"Requests refused by authentication or authorization, by reason.", "reason"),
		backendErrors: counterVec("microgw_backend_errors_total",
			"Requests answered with a backend fault, by reason: unreachable (503 101503, nothing sent), timeout (504 101504), closed (502 101505, sent but no valid response).", "reason"),
		backendRetries: counterVec("microgw_backend_retries_total",
			"Backend requests sent again under an endpoint's retryConfig, by the status that was retried.", "code"),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "microgw_panics_total",
			Help: "Requests whose handling panicked and got the internal error fault.",
		}),
		revoked: gaugeFunc("microgw_revoked_tokens",
			"Entries in the revoked-token set (expired ones are removed by a sweep every minute).", revokedLen),
		rules: gaugeFunc("microgw_revocation_rules",
			"Revocation rules held (by subject, client or issuer; expired ones are removed by a sweep every minute).", rulesLen),
		sourceReady: gaugeVec("microgw_revocation_source_ready",
			"1 once an enabled revocation source has made its first load or subscription.", "source"),
		throttled: counterVec("microgw_throttled_requests_total",
			"Requests refused with 429 because a throttling quota was used up, by API, policy and level (resource, api, subscription, application).", "api", "policy", "level"),
		blocked: counterVec("microgw_blocked_requests_total",
			"Requests refused with 403 (fault 900805) by a blocking condition, by API and kind (ip, iprange, api, application, user).", "api", "kind"),
		throttlingMode: gaugeVec("microgw_throttling_mode",
			"With [throttlingConfig.global]: 1 for the store that counts now, redis (shared by the fleet) or local (this gateway alone, while Redis is away).", "mode"),
	}
	reg.MustRegister(m.requests, m.duration, m.authFailures, m.backendErrors, m.backendRetries, m.panics, m.revoked,
		m.rules, m.sourceReady, m.throttled, m.blocked,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.unmatched = m.newRouteMetrics("", "")
	for _, reason := range []string{"unreachable", "timeout", "closed"} {
		m.backendErrors.WithLabelValues(reason) // shown at 0 before the first fault
	}
	return m
}

// counterVec and gaugeVec are the metric name, by labels; gaugeFunc reads
// its value from f.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
}

func gaugeFunc(name, help string, f func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
}

// routeMetrics are a route's observers, looked up once so that a request
// does not hash its labels.
type routeMetrics struct {
	api      string
	duration prometheus.Observer
	mu       sync.RWMutex
	requests map[statusKey]prometheus.Counter
}

type statusKey struct {
	method string
	status int
}

// knownMethods bounds the method label: anything else is "OTHER".
var knownMethods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "TRACE": "TRACE", "CONNECT": "CONNECT",
}

func methodLabel(m string) string {
	if l, ok := knownMethods[m]; ok {
		return l
	}
	return "OTHER"
}

// forRoute returns the observers of r; a request that matched no route
// (404, 405) is counted with empty api and resource labels.
func (m *metrics) forRoute(r *route) *routeMetrics {
	if r == nil {
		return m.unmatched
	}
	return r.metrics
}

func (m *metrics) newRouteMetrics(api, resource string) *routeMetrics {
	return &routeMetrics{
		api:      api,
		duration: m.duration.WithLabelValues(api, resource),
		requests: map[statusKey]prometheus.Counter{},
	}
}

// observe counts one answered request.
func (m *metrics) observe(r *route, method string, status int, elapsed time.Duration) {
	rm := m.forRoute(r)
	rm.duration.Observe(elapsed.Seconds())
	k := statusKey{methodLabel(method), status}
	rm.mu.RLock()
	c, ok := rm.requests[k]
	rm.mu.RUnlock()
	if !ok {
		resource := ""
		if r != nil {
			resource = r.template
		}
		c = m.requests.WithLabelValues(rm.api, resource, k.method, strconv.Itoa(status))
		rm.mu.Lock()
		rm.requests[k] = c
		rm.mu.Unlock()
	}
	c.Inc()
}

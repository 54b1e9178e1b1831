package runtime

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// refuseBlocked answers 403 900805 to a request that a blocking condition
// matches (docs/traffic.md): its client address (clientAddr: trusted
// proxies' X-Forwarded-For) or a range holding it, its API's base path, and
// for a secured resource its token's application and user, in that order.
// Conditions arrive through the revocation sources, so the stage is absent
// when there is none; without conditions it costs one atomic load.
func (s *Server) refuseBlocked(next stage) stage {
	if len(s.revocation.sources) == 0 {
		return next
	}
	blocks := s.revocation.blocks
	return func(x *exchange, r *http.Request) {
		if blocks.Len() > 0 {
			req := revocation.BlockRequest{Addr: s.clientAddr(r), API: x.route.api.BasePath}
			if c := x.cred; c != nil {
				req.Application, req.User = c.application(), c.ruleToken().Subject
			}
			if kind := blocks.Match(&req); kind != revocation.BlockNone {
				s.metrics.blocked.WithLabelValues(x.route.metrics.api, kind.String()).Inc()
				s.logger.Debug("request blocked", "kind", kind.String(), "client", req.Addr, "api", req.API, "jti", x.jti)
				x.fail(newFault(CodeBlocked, ""))
				return
			}
		}
		next(x, r)
	}
}

// registerBlocking adds the gauge of blocking conditions held.
func (m *metrics) registerBlocking(b *revocation.BlockSet) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "microgw_blocking_conditions",
		Help: "Blocking conditions held (ip, iprange, application, user, api; expired ones are removed by a sweep every minute).",
	}, func() float64 { return float64(b.Len()) }))
}

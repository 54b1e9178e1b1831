package runtime

import (
	"net/http"

	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// answerCORS answers the CORS protocol for APIs that have it (x-wso2-cors,
// or [corsConfig]): a preflight is answered here, 200 with no body, whatever
// its path holds and with no credentials (a browser sends none with it),
// and never reaches the backend; every other response, the backend's or a
// fault, gets the headers that let an allowed origin's page read it. It is
// absent when no API has CORS.
func (s *Server) answerCORS(next stage) stage {
	on := false
	for _, a := range s.router.apis {
		on = on || a.cors != nil
	}
	if !on {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if x.api == nil || x.api.cors == nil {
			next(x, r)
			return
		}
		p := x.api.cors
		if cors.IsPreflight(r) {
			h := x.Header()
			if !p.Preflight(h, r) {
				s.logger.Debug("CORS preflight refused", "api", x.api.api.BasePath, "origin", r.Header.Get("Origin"),
					"method", r.Header.Get("Access-Control-Request-Method"))
			}
			h.Set("Content-Length", "0")
			x.WriteHeader(http.StatusOK)
			return
		}
		origin := r.Header.Get("Origin")
		x.onHeader = func(h http.Header) { p.Response(h, origin) }
		next(x, r)
	}
}

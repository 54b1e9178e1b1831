package runtime

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// adminHandler serves the admin listener: liveness, readiness and the
// Prometheus metrics.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "live"})
	})
	mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, _ *http.Request) {
		if waiting := s.waiting(); len(waiting) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "waiting": waiting})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{s.logger},
	}))
	return mux
}

// waiting lists what keeps the gateway from being ready: listeners not yet
// up, revocation sources that have not made their first load or
// subscription. A source that drops later does not make the gateway unready;
// its state is in /metrics.
func (s *Server) waiting() []string {
	var out []string
	s.mu.Lock()
	listening := s.listening
	s.mu.Unlock()
	if !listening {
		out = append(out, "listeners")
	}
	return append(out, s.revocation.waiting()...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// slogPrinter adapts the logger to promhttp's error log.
type slogPrinter struct {
	l interface{ Error(string, ...any) }
}

func (p slogPrinter) Println(v ...any) { p.l.Error("metrics", "err", v) }

package auth

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// registerResults registers vec, a count by result, with r (none when r is
// nil) and makes each of results show at 0 before it first happens.
func registerResults(r prometheus.Registerer, vec *prometheus.CounterVec, results ...string) error {
	if r != nil {
		if err := r.Register(vec); err != nil {
			return fmt.Errorf("auth: register metrics: %w", err)
		}
	}
	for _, res := range results {
		vec.WithLabelValues(res)
	}
	return nil
}

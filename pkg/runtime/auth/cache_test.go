package auth

import (
	"context"
	"sync"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

// TestConcurrentValidate runs hits, misses, evictions and refusals at once;
// under -race it checks the cache's locking.
func TestConcurrentValidate(t *testing.T) {
	iss := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA))
	cfg := iss.Config()
	cfg.Caching.TokenCacheCapacity = 4
	v := newValidator(t, cfg, newClock())
	var toks []string
	for range 8 {
		toks = append(toks, iss.Token(t, nil))
	}
	bad := iss.Token(t, map[string]any{"aud": "x"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tok := toks[(g+i)%len(toks)]
				c, err := v.Validate(context.Background(), tok)
				if err != nil || c.Subject != "admin" {
					t.Errorf("valid token refused: %v", err)
					return
				}
				if _, err := v.Validate(context.Background(), bad); err == nil {
					t.Error("bad token accepted")
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.cache.len(); n > 4 {
		t.Fatalf("cache len %d over capacity 4", n)
	}
}

package auth

import (
	"context"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
)

func benchIssuers(b *testing.B) map[string]*authtest.Issuer {
	return map[string]*authtest.Issuer{
		"RS256": authtest.NewIssuer(b),
		"ES256": authtest.NewIssuer(b, authtest.WithKeyType(authtest.ECDSA)),
	}
}

// BenchmarkValidateCached is the steady state: the token is in the cache.
// It must stay allocation-free.
func BenchmarkValidateCached(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			iss := benchIssuers(b)[alg]
			v, err := New(iss.Config(), Options{Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			tok := iss.Token(b, map[string]any{"scope": "read write"})
			ctx := context.Background()
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Validate(ctx, tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkValidateCold verifies the signature every time (cache off).
func BenchmarkValidateCold(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			iss := benchIssuers(b)[alg]
			cfg := iss.Config()
			cfg.Caching.Enabled = false
			v, err := New(cfg, Options{Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			tok := iss.Token(b, map[string]any{"scope": "read write"})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCacheHitAllocs holds the cache hit path to zero allocations, the
// property the gateway's throughput rests on.
func TestCacheHitAllocs(t *testing.T) {
	iss := authtest.NewIssuer(t, authtest.WithKeyType(authtest.ECDSA))
	v := newValidator(t, iss.Config(), newClock())
	tok := iss.Token(t, nil)
	ctx := context.Background()
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = v.Validate(ctx, tok) }); n != 0 {
		t.Fatalf("cache hit allocates %v times", n)
	}
}

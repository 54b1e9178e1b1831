package throttle

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// clockedLocal is a Local store whose clock the test moves.
func clockedLocal() (*Local, *time.Duration) {
	l := NewLocal()
	now := new(time.Duration)
	l.now = func() time.Duration { return *now }
	return l, now
}

// A policy of N per T: N in quick succession pass, the next is refused with the time left, and
// from exactly T after the first, requests pass again; a new window opens with that request.
func TestLocalWindowEdge(t *testing.T) {
	l, now := clockedLocal()
	c := []Counter{{Key: "k", Limit: 3, Window: time.Minute}}
	*now = 10 * time.Second
	for i := range 3 {
		if r, _ := l.Take(context.Background(), c); r != -1 {
			t.Fatalf("request %d refused", i)
		}
		*now += time.Second
	}
	if i, retry := l.Take(context.Background(), c); i != 0 || retry != 57*time.Second {
		t.Fatalf("the 4th: refused %d, retry %v; want counter 0 and 57s (the window opened at 10s, it is 13s)", i, retry)
	}
	*now = 10*time.Second + time.Minute - time.Nanosecond
	if i, retry := l.Take(context.Background(), c); i != 0 || retry != time.Second {
		t.Fatalf("1 ns before the window's end: %d, %v; want refused, retry 1s", i, retry)
	}
	*now = 10*time.Second + time.Minute
	for i := range 3 {
		if r, _ := l.Take(context.Background(), c); r != -1 {
			t.Fatalf("at the window's end, request %d refused", i)
		}
	}
	if r, retry := l.Take(context.Background(), c); r != 0 || retry != time.Minute {
		t.Fatalf("the new window's 4th: %d, %v; want refused for a minute", r, retry)
	}
}

// A request refused by a later counter counts against none of the earlier ones.
func TestLocalRefusalCountsNothing(t *testing.T) {
	l, _ := clockedLocal()
	app := Counter{Key: "app", Limit: 100, Window: time.Minute}
	res := Counter{Key: "res", Limit: 2, Window: time.Minute}
	ctx := context.Background()
	for range 2 {
		if i, _ := l.Take(ctx, []Counter{app, res}); i != -1 {
			t.Fatal("refused early")
		}
	}
	for range 10 {
		if i, _ := l.Take(ctx, []Counter{app, res}); i != 1 {
			t.Fatalf("refused by %d, want the resource counter (1)", i)
		}
	}
	// The application counter holds the 2 admitted requests only: 98 more pass alone.
	for i := range 98 {
		if r, _ := l.Take(ctx, []Counter{app}); r != -1 {
			t.Fatalf("application request %d refused: refused requests were counted", i)
		}
	}
	if r, _ := l.Take(ctx, []Counter{app}); r != 0 {
		t.Fatal("the 101st application request passed")
	}
}

// Ended windows are swept: memory holds only counters active within their window.
func TestLocalSweep(t *testing.T) {
	l, now := clockedLocal()
	ctx := context.Background()
	for i := range 1000 {
		w := time.Minute
		if i%2 == 0 {
			w = time.Hour
		}
		l.Take(ctx, []Counter{{Key: fmt.Sprint("client-", i), Limit: 5, Window: w}})
	}
	if n := l.Len(); n != 1000 {
		t.Fatalf("%d counters, want 1000", n)
	}
	*now = 2 * time.Minute
	if n := l.Sweep(); n != 500 || l.Len() != 500 {
		t.Fatalf("swept %d, left %d; want the 500 minute windows gone", n, l.Len())
	}
	*now = 2 * time.Hour
	l.Sweep()
	if n := l.Len(); n != 0 {
		t.Fatalf("%d counters left after every window ended", n)
	}
}

// Concurrent requests on one counter: exactly Limit are admitted.
func TestLocalConcurrent(t *testing.T) {
	l := NewLocal()
	c := []Counter{{Key: "shared", Limit: 500, Window: time.Hour}}
	var admitted sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for range 8 {
		admitted.Go(func() {
			for range 200 {
				if i, _ := l.Take(context.Background(), c); i == -1 {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		})
	}
	admitted.Wait()
	if n != 500 {
		t.Fatalf("%d admitted of 1600, want 500", n)
	}
}

func TestKey(t *testing.T) {
	if a, b := Key("app", "p", "a:b", "c"), Key("app", "p", "a", "b:c"); a == b {
		t.Errorf("two identities made one key %q", a)
	}
	if got := Key("app", "50PerMin", "x%3Ay", "alice"); got != "app:50PerMin:x%253Ay:alice" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("s", 5000)
	if k := Key("app", "p", long); len(k) > 300 || k == Key("app", "p", long+"x") {
		t.Errorf("a long part: %d bytes, or two long parts share a key", len(k))
	}
}

func newMiniRedis(t *testing.T) (*miniredis.Miniredis, *Redis) {
	t.Helper()
	m := miniredis.RunT(t)
	r, err := NewRedis(RedisConfig{URL: "redis://" + m.Addr() + "/0", Timeout: time.Second, KeyPrefix: "t:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return m, r
}

// The script: N pass, the next is refused with the counter's time left, nothing is counted for
// a refused request, and once the key expires (the window's end) requests pass again.
func TestRedisTake(t *testing.T) {
	m, r := newMiniRedis(t)
	ctx := context.Background()
	app := Counter{Key: "app:50PerMin:a:alice", Limit: 50, Window: time.Minute}
	res := Counter{Key: "res:GET:/p/x", Limit: 3, Window: 10 * time.Second}
	for i := range 3 {
		if r, _, err := r.take(ctx, []Counter{app, res}); err != nil || r != -1 {
			t.Fatalf("request %d: %d, %v", i, r, err)
		}
	}
	i, retry, err := r.take(ctx, []Counter{app, res})
	if err != nil || i != 1 || retry != 10*time.Second {
		t.Fatalf("the 4th: %d, %v, %v; want refused by counter 1 for 10s", i, retry, err)
	}
	if v, _ := m.Get("t:" + app.Key); v != "3" {
		t.Errorf("application counter %q after a refused request, want 3", v)
	}
	if ttl := m.TTL("t:" + res.Key); ttl != 10*time.Second {
		t.Errorf("the resource counter expires in %v, want its window", ttl)
	}
	m.FastForward(10 * time.Second)
	if i, _, err := r.take(ctx, []Counter{app, res}); err != nil || i != -1 {
		t.Fatalf("after the window: %d, %v", i, err)
	}
	// A key without an expiry (left by hand) gets one instead of counting forever.
	m.Set("t:stuck", "9")
	if i, retry, _ := r.take(ctx, []Counter{{Key: "stuck", Limit: 5, Window: time.Minute}}); i != 0 || retry != time.Minute {
		t.Fatalf("a stuck key: %d, %v", i, retry)
	}
	if ttl := m.TTL("t:stuck"); ttl != time.Minute {
		t.Errorf("the stuck key expires in %v", ttl)
	}
}

// Redis away: Global counts locally (one WARN for the outage), back to Redis when it answers.
func TestGlobalFallback(t *testing.T) {
	m, r := newMiniRedis(t)
	var logs syncbuf.Buffer
	g := NewGlobal(r, NewLocal(), slog.New(slog.NewTextHandler(&logs, nil)))
	modes := make(chan bool, 10)
	g.OnMode = func(redis bool) { modes <- redis }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	if !<-modes {
		t.Fatal("Run did not report Redis in force")
	}
	c := []Counter{{Key: "k", Limit: 2, Window: time.Hour}}
	for range 2 {
		if i, _ := g.Take(ctx, c); i != -1 {
			t.Fatal("refused")
		}
	}
	if i, _ := g.Take(ctx, c); i != 0 {
		t.Fatal("Redis's third passed")
	}
	m.Close()
	for i := range 5 { // the first fails over Redis, then the local store counts: 2 pass
		r, _ := g.Take(ctx, c)
		if (i < 2) != (r == -1) {
			t.Fatalf("while Redis is away, request %d: refused %d", i, r)
		}
	}
	if <-modes || g.Redis() {
		t.Fatal("the mode did not move to local")
	}
	if n := strings.Count(logs.String(), "redis is unreachable"); n != 1 {
		t.Errorf("%d WARNs for one outage:\n%s", n, logs.String())
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case back := <-modes:
		if !back {
			t.Fatal("reported local again")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("not back to Redis 20 s after it returned")
	}
	if i, _ := g.Take(ctx, c); i != 0 {
		t.Fatal("back on Redis, whose counter is used up, a request passed")
	}
	if !strings.Contains(logs.String(), "redis is reachable again") {
		t.Errorf("no INFO for the return:\n%s", logs.String())
	}
	cancel()
	<-done
}

// A gateway started while Redis is down counts locally from the first request.
func TestGlobalStartsWithoutRedis(t *testing.T) {
	m, r := newMiniRedis(t)
	m.Close()
	g := NewGlobal(r, NewLocal(), nil)
	modes := make(chan bool, 4)
	g.OnMode = func(redis bool) { modes <- redis }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	if <-modes {
		t.Fatal("reported Redis while it is down")
	}
	if i, _ := g.Take(ctx, []Counter{{Key: "k", Limit: 1, Window: time.Hour}}); i != -1 || g.Redis() {
		t.Fatal("not counted locally")
	}
}

func TestNewRedisBadURL(t *testing.T) {
	_, err := NewRedis(RedisConfig{URL: "http://user:s3cret@h:1/0"})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("got %v", err)
	}
}

package auth

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// clock is a settable time source, so that expiry is tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newValidator(t testing.TB, cfg *config.Config, clk *clock) *Validator {
	t.Helper()
	v, err := New(cfg, Options{Logger: quietLogger(), Now: clk.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func seg(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(x); err != nil {
			panic(err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// craft builds header.payload and signs it with method and key; header and
// payload are marshalled maps or raw JSON strings.
func craft(t testing.TB, header, payload any, method jwt.SigningMethod, key any) string {
	t.Helper()
	ss := seg(header) + "." + seg(payload)
	if method == nil {
		return ss + "."
	}
	sig, err := method.Sign(ss, key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return ss + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func claimsWith(iss *authtest.Issuer, set map[string]any) jwt.MapClaims {
	c := iss.Claims()
	for k, v := range set {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func wantErr(t *testing.T, err error, code int, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %d %s", code, reason)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("got %d %s (%s); want %d %s", e.Code, e.Reason, e.Detail, code, reason)
	}
}

// logBuffer collects every log line of a validator, at all levels, so that
// a test can check that no token reached the logs.
type logBuffer struct{ syncbuf.Buffer }

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.Level(-8)}))
}

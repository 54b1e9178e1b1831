package statuslist

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeVerifier stands for the trusted issuers: the signature is not the
// Fetcher's business, the claims it returns are.
type fakeVerifier struct{ claims func() map[string]any }

func (v fakeVerifier) VerifyIssued(_ context.Context, token, typ string) (map[string]any, error) {
	if typ != TokenType || token != "signed" {
		return nil, errors.New("refused")
	}
	return v.claims(), nil
}

// TestFetcherNeverLeavesAllowedHosts: a URL on another host, plain http to
// a host that is not loopback, user info, and a redirect to another host
// are refused with ErrNotAllowed, and the other host is never asked.
func TestFetcherNeverLeavesAllowedHosts(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+"/list", http.StatusFound)
	}))
	defer allowed.Close()
	lists := NewLists()
	f, err := NewFetcher(Config{AllowedHosts: []string{"127.0.0.1"}, Verifier: fakeVerifier{}}, lists)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, uri := range []string{
		otherURL + "/list",
		"http://idp.example.com/list",
		strings.Replace(allowed.URL, "http://", "http://u:p@", 1) + "/list",
		"ftp://127.0.0.1/list",
		"/relative",
		allowed.URL + "/redirects",
	} {
		if err := f.Load(ctx, uri); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Load(%s) = %v, want ErrNotAllowed", uri, err)
		}
	}
	if elsewhere.Load() != 0 {
		t.Error("a host outside allowedHosts was asked")
	}
	if _, err := NewFetcher(Config{Verifier: fakeVerifier{}}, lists); err == nil {
		t.Error("a Fetcher without allowed hosts was made")
	}
}

// TestFetcherTimes: a list is fresh for its ttl (or until exp, or
// DefaultFresh), refreshed three quarters into it, used until exp (or
// MaxStale past its freshness without exp); an expired list is refused.
func TestFetcherTimes(t *testing.T) {
	f := &Fetcher{}
	now := time.Unix(1_800_000_000, 0)
	l, _ := NewList(1, 8)
	for _, tc := range []struct {
		name                 string
		tok                  Token
		fresh, usable, fetch time.Duration
	}{
		{"ttl and exp", Token{TTL: time.Minute, ExpiresAt: now.Add(time.Hour)}, time.Minute, time.Hour, 45 * time.Second},
		{"ttl past exp", Token{TTL: time.Hour, ExpiresAt: now.Add(time.Minute)}, time.Minute, time.Minute, 45 * time.Second},
		{"exp only", Token{ExpiresAt: now.Add(time.Hour)}, time.Hour, time.Hour, 45 * time.Minute},
		{"ttl only", Token{TTL: time.Minute}, time.Minute, time.Minute + MaxStale, 45 * time.Second},
		{"neither", Token{}, DefaultFresh, DefaultFresh + MaxStale, DefaultFresh * 3 / 4},
		{"tiny ttl", Token{TTL: time.Second / 2}, time.Second / 2, time.Second/2 + MaxStale, minRefresh},
	} {
		tc.tok.List = l
		h, err := f.times(&tc.tok, now)
		if err != nil || h.freshUntil.Sub(now) != tc.fresh || h.usableUntil.Sub(now) != tc.usable || h.refreshAt.Sub(now) != tc.fetch {
			t.Errorf("%s: %+v, %v", tc.name, h, err)
		}
	}
	if _, err := f.times(&Token{List: l, ExpiresAt: now}, now); !errors.Is(err, ErrInvalid) {
		t.Errorf("an expired list: %v", err)
	}
}

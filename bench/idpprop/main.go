// Command idpprop measures how long a revocation from an identity provider
// takes to refuse a token at a running gateway (docs/revocation.md, "Token
// Status List" and "Shared Signals"):
//
//   - -via statuslist: the tool serves a Token Status List (one-bit
//     entries, signed with the project's issuer key, ttl -ttl) on a loopback
//     port; the gateway must have [statusList] on with allowedHosts
//     ["127.0.0.1"]. For each of N tokens (entry i of the list) it calls the
//     gateway (200), flips entry i in the list it serves, and calls again
//     and again until 401: from the flip to the first refusal.
//   - -via ssf: the tool runs `micro-gw ssf-receiver`'s receiver (pkg/ssf)
//     in push mode against a transmitter made from the specifications'
//     examples (pkg/ssf/ssftest), revoking through the broker and etcd of
//     -config; for each of N tokens (a subject of its own) it calls the
//     gateway (200), pushes a CAEP session-revoked for the subject, and
//     calls until 401: from the push to the first refusal (the push answers
//     202 once broker and etcd hold the rule).
//
// It prints p50/p90/p99/max. Bounded: N rounds, each given up after
// -timeout; loopback only.
package main

import (
	"context"
	"crypto"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/bench/internal/gwbench"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/ssf"
	"github.com/micro-gw/micro-gw/pkg/ssf/ssftest"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

type result struct {
	Via                string
	N, Refused, Misses int
	P50, P90, P99, Max float64 // ms, flip or push -> first 401
}

func main() {
	gf := gwbench.AddFlags(100, 10*time.Second)
	iss := flag.String("iss", issuer.DefaultIssuer, "the issuer the gateway trusts for the key")
	via := flag.String("via", "statuslist", "statuslist or ssf")
	ttl := flag.Int("ttl", 1, "statuslist: the list's ttl in seconds")
	conf := flag.String("config", "", "ssf: the micro-gw.conf whose broker and etcd the receiver revokes through")
	var overrides multi
	flag.Var(&overrides, "e", "ssf: override a key of -config, KEY=VALUE (repeatable), as for the gateway")
	flag.Parse()
	n, timeout, kid := gf.N, gf.Timeout, gf.KID

	key, err := gf.Key()
	if err != nil {
		fail(err)
	}
	caller := gwbench.Caller(context.Background(), *gf.URL)
	call := func(tok string) int {
		code, _ := caller(tok) // 0 when the call failed: not yet refused
		return code
	}
	var round func(i int) (token string, revoke func())
	switch *via {
	case "statuslist":
		round = statusListRounds(key, *kid, *iss, *n, time.Duration(*ttl)*time.Second)
	case "ssf":
		round = ssfRounds(key, *kid, *iss, *conf, overrides)
	default:
		fail(fmt.Errorf("-via must be statuslist or ssf"))
	}

	res := result{Via: *via, N: *n}
	var lat []time.Duration
	for i := range *n {
		tok, revoke := round(i)
		if code := call(tok); code != http.StatusOK {
			fail(fmt.Errorf("token %d before its revocation: status %d", i, code))
		}
		start := time.Now()
		revoke()
		for {
			if call(tok) == http.StatusUnauthorized {
				lat = append(lat, time.Since(start))
				res.Refused++
				break
			}
			if time.Since(start) > *timeout {
				res.Misses++
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	slices.Sort(lat)
	res.P50, res.P90, res.P99, res.Max = gwbench.Millis(lat, 0.5), gwbench.Millis(lat, 0.9), gwbench.Millis(lat, 0.99), gwbench.Millis(lat, 1)
	if *gf.JSON {
		_ = json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("%s: %d/%d refused; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
			res.Via, res.Refused, res.N, res.P50, res.P90, res.P99, res.Max)
	}
	if res.Misses > 0 {
		os.Exit(1)
	}
}

// statusListRounds serves a list of n one-bit entries and gives, for round
// i, a token with entry i and the flip of entry i.
func statusListRounds(key crypto.Signer, kid, iss string, n int, ttl time.Duration) func(int) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	uri := "http://" + l.Addr().String() + "/statuslists/bench"
	list, err := statuslist.NewList(1, max(n, 8))
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	sign := func() string {
		mu.Lock()
		lst := list.Encode()
		mu.Unlock()
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": iss, "sub": uri, "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "ttl": int64(ttl / time.Second), "status_list": map[string]any{"bits": 1, "lst": lst}})
		tok.Header["typ"], tok.Header["kid"] = statuslist.TokenType, kid
		s, err := tok.SignedString(key)
		if err != nil {
			fail(err)
		}
		return s
	}
	go func() {
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", statuslist.MediaType)
			_, _ = io.WriteString(w, sign())
		}))
	}()
	return func(i int) (string, func()) {
		tok, err := issuer.Sign(key, kid, issuer.Claims{Issuer: iss, TTL: time.Hour,
			Extra: map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": i, "uri": uri}}}})
		if err != nil {
			fail(err)
		}
		return tok, func() {
			mu.Lock()
			list.Set(uint64(i), statuslist.Invalid)
			mu.Unlock()
		}
	}
}

// adapter lets the test transmitter run outside a test.
type adapter struct{}

func (adapter) Helper()                      {}
func (adapter) Fatal(args ...any)            { fail(fmt.Errorf("%s", fmt.Sprint(args...))) }
func (adapter) Errorf(f string, args ...any) { fmt.Fprintf(os.Stderr, "idpprop: "+f+"\n", args...) }
func (adapter) Cleanup(func())               {}

// ssfRounds runs a receiver in push mode and gives, for round i, a token
// of a subject of its own and the push of a session-revoked for it.
func ssfRounds(key crypto.Signer, kid, iss, confFile string, overrides []string) func(int) (string, func()) {
	cfg, err := config.Load(confFile, overrides)
	if err != nil {
		fail(err)
	}
	rev, err := tokenservice.FromConfig(cfg.Revocation, nil, nil)
	if err != nil {
		fail(err)
	}
	const aud = "https://gw.bench"
	tx := ssftest.NewTransmitter(adapter{}, aud)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	push := "http://" + l.Addr().String() + ssf.PushPath
	state, err := ssf.LoadState(filepath.Join(os.TempDir(), fmt.Sprintf("idpprop-%d-%s", os.Getpid(), ssf.StateFileName)))
	if err != nil {
		fail(err)
	}
	s := config.Default().SSF
	s.Transmitter, s.AuthorizationHeader, s.Audience = tx.URL, "Bearer tx-token", aud
	s.Delivery, s.PushEndpointURL, s.PushAuthorizationHeader, s.RuleTTL = "push", push, "Bearer bench", 2*time.Hour
	r, err := ssf.NewReceiver(ssf.Config{SSF: s, Issuers: []string{iss}, State: state, Revoker: rev,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fail(err)
	}
	go func() { _ = http.Serve(l, r) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Setup(ctx); err != nil {
		fail(err)
	}
	run := time.Now().UnixNano()
	return func(i int) (string, func()) {
		sub := fmt.Sprintf("bench-ssf-%d-%d", run, i)
		tok, err := issuer.Sign(key, kid, issuer.Claims{Issuer: iss, Subject: sub, TTL: time.Hour, IssuedAt: time.Now().Add(-time.Minute)})
		if err != nil {
			fail(err)
		}
		set := tx.Set(adapter{}, fmt.Sprintf("set-%d-%d", run, i), ssf.EventSessionRevoked,
			map[string]any{"event_timestamp": time.Now().Unix()}, map[string]any{"format": "opaque", "id": sub}, nil)
		return tok, func() {
			if code := tx.Push(adapter{}, push, "Bearer bench", set); code != http.StatusAccepted {
				fail(fmt.Errorf("push of event %d: %d", i, code))
			}
		}
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return fmt.Sprint(*m) }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func fail(err error) { gwbench.Fail("idpprop", err) }

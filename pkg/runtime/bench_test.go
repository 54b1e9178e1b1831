package runtime

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// memBackend is an in-process backend: the gateway's connections to it are
// in-memory pipes, on which it answers every request (without a body) 200
// with an empty body, so that benchmarks measure the gateway and its
// HTTP/1.1 client without a network. It records the request target of what
// reached it.
type memBackend struct {
	hits atomic.Int64
	last atomic.Pointer[string]
}

func (m *memBackend) Dial(_ context.Context, _, _ string) (net.Conn, error) {
	gw, be := net.Pipe()
	go m.serve(be)
	return gw, nil
}

// serve answers the requests of one connection until it closes.
func (m *memBackend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		// The request target: between the first two spaces.
		if i := bytes.IndexByte(line, ' '); i > 0 {
			if j := bytes.IndexByte(line[i+1:], ' '); j > 0 {
				target := string(line[i+1 : i+1+j])
				m.last.Store(&target)
			}
		}
		for {
			line, err = br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		m.hits.Add(1)
		if _, err := c.Write(memResponse); err != nil {
			return
		}
	}
}

var memResponse = []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

// discardWriter is a reusable ResponseWriter.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

func benchmarkRequest(b *testing.B, key authtest.KeyType, cached bool) {
	benchmarkRequestWith(b, key, cached, nil, nil)
}

// benchmarkRequestWith is benchmarkRequest with the token's claims changed
// by claims and the server prepared by setup before the first request.
func benchmarkRequestWith(b *testing.B, key authtest.KeyType, cached bool, claims map[string]any, setup func(*Server)) {
	benchmarkRequestOn(b, petstore(ep("http://backend.test/v2"), nil), key, cached, claims, setup)
}

// benchmarkRequestOn is benchmarkRequestWith on spec.
func benchmarkRequestOn(b *testing.B, spec Spec, key authtest.KeyType, cached bool, claims map[string]any, setup func(*Server)) {
	benchmarkRequestSpec(b, spec, key, cached, claims, nil, setup)
}

// benchmarkRequestConf is benchmarkRequestWith with the configuration
// changed by conf (which may use the issuer) before the server is made.
func benchmarkRequestConf(b *testing.B, key authtest.KeyType, cached bool, claims map[string]any,
	conf func(*authtest.Issuer, *config.Config), setup func(*Server)) {
	benchmarkRequestSpec(b, petstore(ep("http://backend.test/v2"), nil), key, cached, claims, conf, setup)
}

// benchmarkRequestSpec is the one request loop of the benchmarks above.
func benchmarkRequestSpec(b *testing.B, spec Spec, key authtest.KeyType, cached bool, claims map[string]any,
	conf func(*authtest.Issuer, *config.Config), setup func(*Server)) {
	iss := authtest.NewIssuer(b, authtest.WithKeyType(key))
	cfg := iss.Config()
	cfg.Listener.HTTPPort, cfg.Listener.HTTPSPort, cfg.Listener.AdminPort = 0, 0, 0
	cfg.Caching.Enabled = cached
	if conf != nil {
		conf(iss, cfg)
	}
	mt := &memBackend{}
	s, err := New(spec, cfg, Options{Dial: mt.Dial, Sources: []NamedSource{}})
	if err != nil {
		b.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	h := s.handler
	auth := []string{"Bearer " + iss.Token(b, claims)}
	u, _ := url.Parse("/petstore/v1/pet/42?x=1")
	req := &http.Request{Method: "GET", URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Host: "gw.test", RemoteAddr: "192.0.2.1:1234", RequestURI: u.RequestURI()}
	req = req.WithContext(b.Context())
	w := &discardWriter{h: http.Header{}}
	run := func() {
		req.Header["Authorization"] = auth
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
	run() // fills the cache when there is one
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

// BenchmarkRequestCached is one authenticated request through the whole
// request path with its token in the validator's cache (the revoked check
// still runs).
func BenchmarkRequestCached(b *testing.B) {
	b.Run("RS256", func(b *testing.B) { benchmarkRequest(b, authtest.RSA, true) })
	b.Run("ES256", func(b *testing.B) { benchmarkRequest(b, authtest.ECDSA, true) })
}

// BenchmarkRequestCachedRules is BenchmarkRequestCached/RS256 with a token
// that has a client (azp), so that the subject, client and issuer rules are
// each looked up, against no rules and against 100k rules (a third of each
// kind, one of them for the token's own subject with a cut before its iat,
// so that lookup finds a rule and compares the cut).
func BenchmarkRequestCachedRules(b *testing.B) {
	claims := map[string]any{"azp": "bench-app"}
	b.Run("none", func(b *testing.B) { benchmarkRequestWith(b, authtest.RSA, true, claims, nil) })
	b.Run("100k", func(b *testing.B) {
		benchmarkRequestWith(b, authtest.RSA, true, claims, func(s *Server) { loadBenchRules(s.revocation.rules, 100_000) })
	})
}

// BenchmarkRequestCachedRules100k is BenchmarkRequestCachedRules/100k on
// its own.
func BenchmarkRequestCachedRules100k(b *testing.B) {
	benchmarkRequestWith(b, authtest.RSA, true, map[string]any{"azp": "bench-app"},
		func(s *Server) { loadBenchRules(s.revocation.rules, 100_000) })
}

// loadBenchRules adds n rules that the benchmark's token does not match.
func loadBenchRules(rs *revocation.RuleSet, n int) {
	cut := time.Now().Add(-time.Hour)
	rs.RevokeRule(revocation.Rule{Kind: revocation.RuleSubject, Key: "admin", IssuedBefore: cut})
	for i := 1; i < n; i++ {
		kind := revocation.RuleKind(1 + i%3)
		key := "user-" + strconv.Itoa(i)
		if kind == revocation.RuleIssuer {
			key = "https://idp-" + strconv.Itoa(i) + ".test/oauth2/token"
		}
		rs.RevokeRule(revocation.Rule{Kind: kind, Key: key, IssuedBefore: cut, ExpiresAt: cut.Add(48 * time.Hour)})
	}
	if rs.Len() != n {
		panic("loadBenchRules: wrong count")
	}
}

// BenchmarkRequestCold is the same with the cache off: every request
// verifies the signature.
func BenchmarkRequestCold(b *testing.B) {
	b.Run("RS256", func(b *testing.B) { benchmarkRequest(b, authtest.RSA, false) })
	b.Run("ES256", func(b *testing.B) { benchmarkRequest(b, authtest.ECDSA, false) })
}

// unsecuredPaths are the backend paths of the unsecured resources of
// petstore(): the only ones a request without a valid token may reach.
var unsecuredPaths = map[string]bool{"/v2/pet/findByStatus": true, "/v2/store/order": true, "/v2/slow": true}

// FuzzServeHTTP sends random paths and Authorization headers through the
// handler: it must never panic (a recovered panic is a 500) and nothing may
// reach the backend without the valid token, except the unsecured
// resources; nothing with a dot segment or an empty segment is ever
// proxied. A second gateway, with allowEncodedSlash, gets each request too:
// the path it proxies, decoded as a backend may decode it (%2F included),
// has no dot segment or empty segment either.
func FuzzServeHTTP(f *testing.F) {
	iss := authtest.NewIssuer(f)
	cfg := iss.Config()
	cfg.Listener.HTTPPort, cfg.Listener.HTTPSPort, cfg.Listener.AdminPort = 0, 0, 0
	valid := iss.Token(f, nil)
	mt := &memBackend{}
	s, err := New(petstore(ep("http://backend.test/v2"), nil), cfg, Options{Dial: mt.Dial, Sources: []NamedSource{}})
	if err != nil {
		f.Fatal(err)
	}
	s.revocation.set.Revoke("revoked", time.Time{})
	slashCfg := *cfg
	slashCfg.Listener.AllowEncodedSlash = true
	slashed, err := New(petstore(ep("http://backend.test/v2"), nil), &slashCfg, Options{Dial: mt.Dial, Sources: []NamedSource{}})
	if err != nil {
		f.Fatal(err)
	}
	slashed.revocation.set.Revoke("revoked", time.Time{})
	// An API with x-wso2-cors: every input is also sent from an origin, and
	// as a preflight for that origin.
	corsSpec := petstore(ep("http://backend.test/v2"), nil)
	corsSpec.APIs[0].CORS = &CORS{Enabled: true, AllowOrigins: []string{fuzzAllowedOrigin}, AllowCredentials: true,
		AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"authorization"}}
	corsed, err := New(corsSpec, cfg, Options{Dial: mt.Dial, Sources: []NamedSource{}})
	if err != nil {
		f.Fatal(err)
	}
	corsed.revocation.set.Revoke("revoked", time.Time{})
	for _, seed := range [][2]string{
		{"/petstore/v1/pet/1", "Bearer " + valid},
		{"/petstore/v1/pet/1", "Bearer " + valid[:len(valid)-2]},
		{"/petstore/v1/pet/findByStatus", ""},
		{"/petstore/v1/pet/findBy%53tatus/", "Basic x"},
		{"/petstore/v1/pet/%2e%2e/findByStatus", ""},
		{"/petstore/v1/pet/..%2f..%2fadmin", "Bearer a.b.c"},
		{"/petstore/v1//store/order", ""},
		{"/petstore/v1/store/order/../../pet/1", ""},
		{"/petstore/v1/pet/1", "Bearer " + iss.Token(f, map[string]any{"jti": "revoked"})},
		{"/petstore/v1/pet/1", "bearer    " + valid + "  "},
		{"/%70etstore/v1/slow", "Bearer"},
		{"/petstore/v1/pet/heads%2Fmain", "Bearer " + valid},
		{"/petstore/v1/pet/a%2F..%2Ffind", "Bearer " + valid},
	} {
		f.Add(seed[0], seed[1], fuzzAllowedOrigin)
	}
	f.Add("/petstore/v1/pet/1", "Bearer "+valid, "https://APP.example")
	f.Add("/petstore/v1/pet/findByStatus", "", "null")
	f.Add("/petstore/v1/pet/1", "", "https://app.example.evil.test")
	f.Fuzz(func(t *testing.T, path, authz, origin string) {
		serveOneFuzzed(t, s.handler, mt, path, authz, valid, false, "")
		serveOneFuzzed(t, slashed.handler, mt, path, authz, valid, true, "")
		serveOneFuzzed(t, corsed.handler, mt, path, authz, valid, false, origin)
		preflightFuzzed(t, corsed.handler, mt, path, origin)
	})
}

// fuzzAllowedOrigin is the one origin FuzzServeHTTP's CORS API allows.
const fuzzAllowedOrigin = "https://app.example"

// checkFuzzedCORS: a response names no origin but the request's own, and
// that only when it is the allowed one (origins compare without regard to
// case in their scheme and host, as docs/runtime.md, "CORS", says).
func checkFuzzedCORS(t *testing.T, h http.Header, path, origin string) {
	acao := h.Values("Access-Control-Allow-Origin")
	switch {
	case len(acao) == 0:
	case len(acao) > 1 || acao[0] != origin || !strings.EqualFold(origin, fuzzAllowedOrigin):
		t.Fatalf("path %q from origin %q: Access-Control-Allow-Origin %q", path, origin, acao)
	}
}

// preflightFuzzed sends an OPTIONS preflight for path from origin: the
// gateway answers it itself, never with a 500 and never through the
// backend.
func preflightFuzzed(t *testing.T, h http.Handler, mt *memBackend, path, origin string) {
	u, err := url.Parse(path)
	if err != nil || u.Host != "" || u.Scheme != "" || u.Opaque != "" {
		return
	}
	req := &http.Request{Method: http.MethodOptions, URL: u, Host: "gw.test", RemoteAddr: "192.0.2.1:1", Body: http.NoBody,
		Header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}}}
	req = req.WithContext(t.Context())
	before := mt.hits.Load()
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status == http.StatusInternalServerError {
		t.Fatalf("500 for the preflight of %q", path)
	}
	if mt.hits.Load() != before {
		t.Fatalf("the preflight of %q from %q reached the backend", path, origin)
	}
	checkFuzzedCORS(t, w.h, path, origin)
}

// serveOneFuzzed is one request of FuzzServeHTTP through h, from origin
// when it is not ""; decodeSlash checks the proxied path as a backend that
// decodes %2F reads it.
func serveOneFuzzed(t *testing.T, h http.Handler, mt *memBackend, path, authz, valid string, decodeSlash bool, origin string) {
	u, err := url.Parse(path)
	if err != nil || u.Host != "" || u.Scheme != "" || u.Opaque != "" {
		return // the server's own parser refuses it before the handler
	}
	req := &http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: "gw.test", RemoteAddr: "192.0.2.1:1", Body: http.NoBody}
	req = req.WithContext(t.Context())
	if authz != "" {
		req.Header["Authorization"] = []string{authz}
	}
	if origin != "" {
		req.Header["Origin"] = []string{origin}
	}
	before := mt.hits.Load()
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.status == http.StatusInternalServerError {
		t.Fatalf("500 for path %q", path)
	}
	checkFuzzedCORS(t, w.h, path, origin)
	if mt.hits.Load() == before {
		return
	}
	target := *mt.last.Load()
	p, _, _ := strings.Cut(target, "?")
	segs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/"), "/")
	if decodeSlash {
		whole, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/"))
		segs = strings.Split(whole, "/")
	}
	for _, seg := range segs {
		dec := seg // decoded once already, as a backend does
		if !decodeSlash {
			dec, _ = url.PathUnescape(seg)
		}
		if seg == "" || dec == "." || dec == ".." || strings.ContainsAny(dec, "/\\") {
			t.Fatalf("path %q proxied as %q", path, p)
		}
	}
	decoded, _ := url.PathUnescape(strings.TrimSuffix(p, "/"))
	if !unsecuredPaths[decoded] && !strings.Contains(authz, valid) {
		t.Fatalf("path %q with Authorization %q reached the backend as %q", path, authz, p)
	}
}

// BenchmarkRequestCachedThrottled is BenchmarkRequestCached/RS256 with the
// API under a resource policy that never runs out: off (no policy, the
// stage absent) and local (the gateway's own counters). Counting in Redis is
// measured by bench/run.sh against a real redis-server: an in-process
// miniredis would put its own Lua interpreter into the figures.
func BenchmarkRequestCachedThrottled(b *testing.B) {
	spec := func(tier bool) Spec {
		s := petstore(ep("http://backend.test/v2"), nil)
		if tier {
			s.Policies.Resource = []Policy{{Name: "bench", Count: 1 << 62, Unit: 24 * time.Hour}}
			s.APIs[0].ThrottlingTier = "bench"
		}
		return s
	}
	b.Run("off", func(b *testing.B) { benchmarkRequestOn(b, spec(false), authtest.RSA, true, nil, nil) })
	b.Run("local", func(b *testing.B) { benchmarkRequestOn(b, spec(true), authtest.RSA, true, nil, nil) })
}

package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveBoth serves h on two loopback listeners, one with h1Server (and its
// net/http fallback) and one with http.Server alone, configured as listen
// configures them; it returns their addresses and h1Server.
func serveBoth(t testing.TB, h http.Handler) (own, std string, srv *h1Server) {
	t.Helper()
	newHTTP := func() *http.Server {
		return &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
			IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: log.New(io.Discard, "", 0)}
	}
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = newH1Server(h, newHTTP(), ln1.Addr())
	plain := newHTTP()
	go func() { _ = srv.Serve(ln1) }()
	go func() { _ = plain.Serve(ln2) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = plain.Close()
	})
	return ln1.Addr().String(), ln2.Addr().String(), srv
}

// sendOn dials addr and sends raw; the connection is closed when the test
// ends.
func sendOn(t testing.TB, addr, raw string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return c
}

// exchangeRaw sends raw on a new connection, half-closes it, and returns
// all the server sends until it closes.
func exchangeRaw(t testing.TB, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read: %v", err)
	}
	return dateLine.ReplaceAllString(string(got), "Date: X\r\n")
}

var dateLine = regexp.MustCompile(`Date: [^\r\n]*\r\n`)

// h1Cases are handlers that use what a ResponseWriter offers, each with the
// requests it gets.
var h1Cases = []struct {
	name string
	h    http.HandlerFunc
	reqs []string
}{
	{"sniffed short body", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<html><body>hi</body></html>")
	}, []string{get("/a"), "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n" + get("/b")}},
	{"long body is chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3000))
		_, _ = w.Write([]byte("tail"))
	}, []string{get("/"), "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"}},
	{"content length set", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", " b\r\nInjected: 1")
		w.Header()["lower"] = []string{"v"}
		_, _ = io.WriteString(w, "hello")
	}, []string{get("/") + get("/again")}},
	{"short write of a content length", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "hello")
	}, []string{get("/") + get("/never")}},
	{"no body statuses", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		w.Header().Set("Transfer-Encoding", "chunked")
		w.Header().Set("Etag", `"1"`)
		switch r.URL.Path {
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			w.WriteHeader(299)
		}
		_, _ = io.WriteString(w, "abc")
	}, []string{get("/204") + get("/304") + get("/299")}},
	{"interim responses", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(103)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(201)
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "made")
	}, []string{get("/")}},
	{"declared and prefixed trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, x-other")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Sum", "4")
		w.Header().Set("X-Other", "o")
		w.Header().Set(http.TrailerPrefix+"X-Late", "l")
	}, []string{get("/") + get("/2")}},
	{"flushed and streamed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "data: 2\n\n")
		_ = http.NewResponseController(w).Flush()
	}, []string{get("/") + get("/2")}},
	{"empty flush", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
	}, []string{get("/")}},
	{"handler closes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, "bye")
	}, []string{get("/") + get("/never")}},
	{"client closes", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.RequestURI+" "+r.Host+" "+r.Header.Get("X-A"))
	}, []string{"GET /a?b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nConnection: close\r\n\r\n" + get("/never"),
		"GET /a?b HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nConnection: keep-alive, Close\r\n\r\n"}},
	{"request bodies", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" {
			b, err := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, string(b)+" "+errString(err)+" ")
		}
		_, _ = io.WriteString(w, r.Method)
	}, []string{
		"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get("/next"),
		"POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + get("/next"),
		"POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\nhello",
		"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nhello",
		"POST /read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + get("/next"),
	}},
	{"aborted", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("y", 5000))
		panic(http.ErrAbortHandler)
	}, []string{get("/") + get("/never")}},
	{"handed to net/http", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto+" "+r.Method+" "+r.URL.String()+" "+r.Host)
	}, []string{
		"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n" + get("/2"),
		"GET http://x.test/abs HTTP/1.1\r\nHost: x\r\n\r\n" + get("/2"),
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz",
		"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("b", 5000) + "\r\n\r\n" + get("/2"),
		"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("b", 70000) + "\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\nHost: x\n\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"GET / HTTP/1.1\r\nHo",
		"\r\n" + get("/"),
		"garbage\r\n\r\n",
		get("/1") + "GET / HTTP/1.0\r\nHost: x\r\n\r\n",
	}},
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestH1ServerAnswersAsNetHTTP: for each handler and request stream, the
// gateway's server sends the same bytes as http.Server (but for Date).
func TestH1ServerAnswersAsNetHTTP(t *testing.T) {
	for _, tc := range h1Cases {
		t.Run(tc.name, func(t *testing.T) {
			own, std, _ := serveBoth(t, tc.h)
			for _, raw := range tc.reqs {
				got, want := exchangeRaw(t, own, raw), exchangeRaw(t, std, raw)
				if got != want {
					t.Errorf("request %q:\n got %q\nwant %q", clipString(raw), got, want)
				}
			}
		})
	}
}

func clipString(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// The request the handler gets from the gateway's server is the one
// http.Server gives, in what handlers read.
func TestH1ServerRequest(t *testing.T) {
	type seen struct {
		method, uri, path, rawPath, query, proto, host, remote string
		header                                                 http.Header
		length                                                 int64
		close, ctx                                             bool
	}
	var last atomic.Pointer[seen]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, local := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		remoteHost, _, _ := net.SplitHostPort(r.RemoteAddr)
		last.Store(&seen{r.Method, r.RequestURI, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Proto, r.Host, remoteHost,
			r.Header.Clone(), r.ContentLength, r.Close, local && r.Context().Err() == nil})
	})
	own, std, _ := serveBoth(t, h)
	for _, raw := range []string{
		"GET /p/a%2Fb/c?q=1&r HTTP/1.1\r\nHost: gw.test:8080\r\nauthorization: Bearer x\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
		"PUT /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\nPragma: no-cache\r\n\r\nab",
	} {
		// The connection stays open until the answer is read: a client that
		// half-closes as exchangeRaw does would make net/http's server cancel
		// the request's context when it reads the EOF, at a time that races
		// with the handler's look at it.
		answer := func(addr string) seen {
			c := sendOn(t, addr, raw)
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return *last.Load()
		}
		got, want := answer(own), answer(std)
		if got.method != want.method || got.uri != want.uri || got.path != want.path || got.rawPath != want.rawPath ||
			got.query != want.query || got.proto != want.proto || got.host != want.host || got.remote != want.remote ||
			got.length != want.length || got.close != want.close || !got.ctx || !want.ctx ||
			!equalHeaders(got.header, want.header) {
			t.Errorf("request %q:\n got %+v\nwant %+v", raw, got, want)
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

// Shutdown closes idle connections, lets a request in flight finish (its
// response says Connection: close) and then returns.
func TestH1ServerShutdown(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(arrived)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	own, _, srv := serveBoth(t, h)
	idle := sendOn(t, own, get("/"))
	buf := make([]byte, 4096)
	if _, err := idle.Read(buf); err != nil {
		t.Fatal(err)
	}
	busy := sendOn(t, own, get("/slow"))
	<-arrived
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	// The idle connection is closed.
	_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.Read(buf); err == nil {
		t.Fatalf("idle connection still open after Shutdown: read %q", buf[:n])
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	_ = busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(busy)
	if !strings.Contains(string(got), "Connection: close\r\n") || !strings.HasSuffix(string(got), "ok") {
		t.Errorf("response in flight during Shutdown: %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return after the last request")
	}
	if _, err := net.Dial("tcp", own); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// Shutdown gives up when its context is done, and Close cuts what is left.
func TestH1ServerShutdownDeadline(t *testing.T) {
	arrived := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	own, _, srv := serveBoth(t, h)
	c := sendOn(t, own, get("/"))
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the deadline", err)
	}
	_ = srv.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection after Close: %v", err)
	}
}

// A client that goes away while its request waits cancels the request's
// context; one that stays does not.
func TestH1ServerClientGone(t *testing.T) {
	cancelled := make(chan bool, 1)
	arrived := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		wait := 2 * watchAfter // a client that stays
		if r.URL.Path == "/gone" {
			wait = 30 * time.Second
		}
		select {
		case <-r.Context().Done():
			cancelled <- true
		case <-time.After(wait):
			cancelled <- false
		}
	})
	own, _, _ := serveBoth(t, h)
	c := sendOn(t, own, get("/gone"))
	<-arrived
	c.Close()
	if !<-cancelled {
		t.Error("the request went on after the client left")
	}
	// A pipelined request arrives while the first is watched: it is kept.
	c = sendOn(t, own, get("/1"))
	<-arrived
	time.Sleep(watchAfter + 100*time.Millisecond)
	_, _ = io.WriteString(c, get("/2"))
	if <-cancelled {
		t.Error("the request was cancelled with its client there")
	}
	<-arrived
	if <-cancelled {
		t.Error("the pipelined request was cancelled")
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 8192)
	n := 0
	for strings.Count(string(buf[:n]), "HTTP/1.1 200") < 2 {
		m, err := c.Read(buf[n:])
		if err != nil {
			t.Fatalf("read %q: %v", buf[:n], err)
		}
		n += m
	}
}

// FuzzServeH1 sends the same bytes to two gateways, one serving its HTTP
// listener with its own server and one with net/http's alone
// (Options.NetHTTP), in front of one backend that echoes what reaches it:
// the two must answer the same bytes (but for Date), whatever the bytes,
// the smuggling classics included. A last request closes the connection.
func FuzzServeH1(f *testing.F) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.RequestURI+" "+strconv.Itoa(len(b))+" "+strings.Join(r.TransferEncoding, ","))
		_, _ = w.Write(b)
	}))
	f.Cleanup(be.Close)
	cfg := testConfig(f)
	own := startServer(f, openSpec(ep(be.URL)), cfg, Options{})
	std := startServer(f, openSpec(ep(be.URL)), cfg, Options{NetHTTP: true})
	for _, s := range requestSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		const last = "GET /open/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		got, gotOK := exchangeUntilClose(own.addr("http").String(), raw+last)
		want, wantOK := exchangeUntilClose(std.addr("http").String(), raw+last)
		if gotOK && wantOK && got != want {
			t.Fatalf("request %q:\n got %q\nwant %q", clipString(raw), got, want)
		}
	})
}

// requestSeeds are request streams for FuzzServeH1: requests the gateway's
// server takes, and those it hands to net/http.
func requestSeeds() []string {
	return []string{
		"GET /open/a HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"POST /open/a/b?q HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"POST /open/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /open/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /open/a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"POST /open/a HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\nabc",
		"POST /open/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"POST /open/a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /open/a HTTP/1.1\nHost: x\n\n",
		"GET /open/a HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
		"GET /open/a HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
		"GET /open/a HTTP/1.0\r\nHost: x\r\n\r\n",
		"GET http://x/open/a HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /open/%2e%2e/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"HEAD /open/a HTTP/1.1\r\nHost: x\r\n\r\nDELETE /open/a HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n",
	}
}

// exchangeUntilClose sends raw and reads until the server closes the
// connection; false when that takes more than a few seconds (a request
// waiting for a body that never comes) or ends in a reset, which prove
// nothing.
func exchangeUntilClose(addr, raw string) (string, bool) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err.Error(), false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	go func() { _, _ = io.WriteString(c, raw) }()
	got, err := io.ReadAll(c)
	if err != nil {
		// A timeout, or a reset that may have dropped what was received.
		return "", false
	}
	return dateLine.ReplaceAllString(string(got), "Date: X\r\n"), true
}

// Options.NetHTTP, or MICROGW_NETHTTP_SERVER=1, serves the HTTP listener
// with http.Server alone; by default it is the gateway's own server.
func TestNetHTTPOptOut(t *testing.T) {
	be := answering(t, http.StatusOK)
	kinds := func(s *Server) (own, std int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, srv := range s.servers {
			switch srv.(type) {
			case *h1Server:
				own++
			case *http.Server:
				std++
			}
		}
		return own, std
	}
	if own, std := kinds(startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})); own != 1 || std != 1 {
		t.Errorf("default: %d own servers and %d http.Servers, want the HTTP listener's own and admin's", own, std)
	}
	if own, std := kinds(startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{NetHTTP: true})); own != 0 || std != 2 {
		t.Errorf("Options.NetHTTP: %d own servers and %d http.Servers", own, std)
	}
	t.Setenv("MICROGW_NETHTTP_SERVER", "1")
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	if own, std := kinds(s); own != 0 || std != 2 {
		t.Errorf("MICROGW_NETHTTP_SERVER=1: %d own servers and %d http.Servers", own, std)
	}
	resp, body := do(t, "GET", s.testURL("http", "/open/x"), nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("through http.Server: %d %s", resp.StatusCode, body)
	}
}

// BenchmarkServer is one request and its answer on a kept-alive loopback
// connection, through the gateway's own server and through http.Server,
// with a handler that answers a short body: the servers' own cost (and
// the loopback's), allocations included.
func BenchmarkServer(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":42}`)
	})
	own, std, _ := serveBoth(b, h)
	req := "GET /petstore/v1/pet/42 HTTP/1.1\r\nHost: 127.0.0.1:9090\r\nAuthorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln\r\nUser-Agent: wrk\r\n\r\n"
	for _, tc := range []struct{ name, addr string }{{"own", own}, {"net-http", std}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := io.WriteString(c, req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

package runtime

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// openSpec is an API of unsecured resources for every method the upstream
// tests send, all on one endpoint.
func openSpec(e *Endpoint) Spec {
	var res []Resource
	for _, m := range []string{"GET", "PUT", "POST", "DELETE"} {
		res = append(res, Resource{Method: m, Path: "/{a}"}, Resource{Method: m, Path: "/{a}/{b}"})
	}
	return Spec{Name: "open", Version: "test", APIs: []API{{
		Title: "Open", Version: "1", Source: "open.yaml", BasePath: "/open", Production: e, Resources: res,
	}}}
}

// scripted is a backend whose handler the test writes; it counts requests
// and remembers the last body it read.
type scripted struct {
	*httptest.Server
	hits atomic.Int64
	body atomic.Value // string
}

func newScripted(t *testing.T, h func(s *scripted, w http.ResponseWriter, r *http.Request)) *scripted {
	t.Helper()
	s := &scripted{}
	s.body.Store("")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(s, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// answering is a backend that reads the body and answers status with it.
func answering(t *testing.T, status int) *scripted {
	return newScripted(t, func(s *scripted, w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.body.Store(string(b))
		w.WriteHeader(status)
		_, _ = w.Write(b)
	})
}

// hangUp reads the headers (and a little of the body) and closes the
// connection without an answer.
func hangUp(_ *scripted, w http.ResponseWriter, r *http.Request) {
	_, _ = r.Body.Read(make([]byte, 1))
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func metricsText(t *testing.T, s *Server) string {
	t.Helper()
	_, m := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	return m
}

func TestXForwardedForAppended(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	do(t, "GET", s.testURL("http", "/open/x"), nil,
		"X-Forwarded-For", "203.0.113.7", "X-Forwarded-For", "198.51.100.2, 10.0.0.1", "X-Forwarded-Proto", "ftp")
	h := be.lastRequest().Header
	if got, want := h.Values("X-Forwarded-For"), []string{"203.0.113.7, 198.51.100.2, 10.0.0.1, 127.0.0.1"}; strings.Join(got, "|") != want[0] {
		t.Errorf("X-Forwarded-For %q, want %q", got, want)
	}
	if got := h.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("X-Forwarded-Proto %q: the gateway's own, not the client's", got)
	}
}

func TestResponseTimeout(t *testing.T) {
	cancelled := make(chan struct{}, 4)
	be := newScripted(t, func(_ *scripted, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(time.Minute):
		}
	})
	for _, tc := range []struct {
		name     string
		endpoint time.Duration
		conf     time.Duration
	}{
		{"endpoint timeoutInMillis", 200 * time.Millisecond, time.Hour},
		{"[upstream] responseTimeout", 0, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Upstream.ResponseTimeout = tc.conf
			s := startServer(t, openSpec(&Endpoint{URLs: []string{be.URL}, Timeout: tc.endpoint}), cfg, Options{})
			start := time.Now()
			resp, body := do(t, "GET", s.testURL("http", "/open/slow"), nil)
			wantFault(t, resp, body, 504, CodeBackendTimeout)
			if el := time.Since(start); el < 200*time.Millisecond {
				t.Errorf("504 after %v, before the timeout", el)
			}
			select {
			case <-cancelled:
			case <-time.After(time.Minute):
				t.Fatal("the backend request was not cancelled")
			}
			if m := metricsText(t, s); !strings.Contains(m, `microgw_backend_errors_total{reason="timeout"} 1`) {
				t.Errorf("timeout not counted:\n%s", grepLines(m, "backend_errors"))
			}
		})
	}
}

// The clock stands still while the gateway waits for the client's body: an
// upload slower than the timeout, to a backend that answers at once, is
// answered.
func TestResponseTimeoutSparesSlowUploads(t *testing.T) {
	be := answering(t, 200)
	s := startServer(t, openSpec(&Endpoint{URLs: []string{be.URL}, Timeout: 500 * time.Millisecond}), testConfig(t), Options{})
	pr, pw := io.Pipe()
	go func() {
		for range 4 {
			_, _ = pw.Write([]byte("part."))
			time.Sleep(300 * time.Millisecond)
		}
		pw.Close()
	}()
	resp, body := do(t, "POST", s.testURL("http", "/open/upload"), pr)
	if resp.StatusCode != 200 || body != "part.part.part.part." {
		t.Fatalf("a 1.2 s upload with a 0.5 s timeout: %d %q", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Error("a chunked request's connection was kept open")
	}
}

func TestClosedAfterSendIs502(t *testing.T) {
	be := newScripted(t, hangUp)
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	resp, body := do(t, "POST", s.testURL("http", "/open/orders"), strings.NewReader(`{"id":1}`))
	wantFault(t, resp, body, 502, CodeBackendClosed)
	if n := be.hits.Load(); n != 1 {
		t.Errorf("the POST reached the backend %d times", n)
	}
	if m := metricsText(t, s); !strings.Contains(m, `microgw_backend_errors_total{reason="closed"} 1`) {
		t.Errorf("not counted:\n%s", grepLines(m, "backend_errors"))
	}
}

func TestBrokenResponseFramingIs502(t *testing.T) {
	be := newScripted(t, func(_ *scripted, w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
		_ = buf.Flush()
	})
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	resp, body := do(t, "GET", s.testURL("http", "/open/x"), nil)
	wantFault(t, resp, body, 502, CodeBackendClosed)
}

// An unreachable URL is passed over; one that was reached and failed stays
// in the rotation.
func TestHealthFollowsConnections(t *testing.T) {
	closer := newScripted(t, hangUp)
	dead := deadURL(t)
	s := startServer(t, openSpec(&Endpoint{URLs: []string{dead, closer.URL}, Type: EndpointFailover}), testConfig(t), Options{})
	resp, body := do(t, "GET", s.testURL("http", "/open/x"), nil)
	wantFault(t, resp, body, 502, CodeBackendClosed)
	up := s.router.match("GET", "/open/x").route.production
	now := time.Now().UnixNano()
	if up.targets[0].downUntil.Load() <= now {
		t.Error("the unreachable URL was not marked down")
	}
	if up.targets[1].downUntil.Load() != 0 {
		t.Error("the URL that was reached was marked down")
	}
}

func TestRetryIdempotentOnly(t *testing.T) {
	a := answering(t, 503)
	b := answering(t, 200)
	s := startServer(t, openSpec(&Endpoint{URLs: []string{a.URL, b.URL}, Type: EndpointFailover,
		Retry: &Retry{Count: 1, StatusCodes: []int{503}}}), testConfig(t), Options{})

	resp, body := do(t, "PUT", s.testURL("http", "/open/pet/1"), strings.NewReader(`{"name":"rex"}`))
	if resp.StatusCode != 200 || body != `{"name":"rex"}` || b.body.Load() != `{"name":"rex"}` {
		t.Errorf("PUT retried on the next URL: %d %q, B read %q", resp.StatusCode, body, b.body.Load())
	}
	resp, body = do(t, "POST", s.testURL("http", "/open/pet"), strings.NewReader(`{"name":"rex"}`))
	if resp.StatusCode != 503 || body != `{"name":"rex"}` {
		t.Errorf("POST: %d %q, want the backend's own 503", resp.StatusCode, body)
	}
	if a.hits.Load() != 2 || b.hits.Load() != 1 {
		t.Errorf("hits A %d B %d, want 2 and 1: the POST is sent once", a.hits.Load(), b.hits.Load())
	}
	if m := metricsText(t, s); !strings.Contains(m, `microgw_backend_retries_total{code="503"} 1`) {
		t.Errorf("retry not counted:\n%s", grepLines(m, "retries"))
	}
}

func TestRetryAfterClosedConnection(t *testing.T) {
	a := newScripted(t, hangUp)
	b := answering(t, 200)
	s := startServer(t, openSpec(&Endpoint{URLs: []string{a.URL, b.URL}, Type: EndpointFailover,
		Retry: &Retry{Count: 2, StatusCodes: []int{502}}}), testConfig(t), Options{})
	if resp, body := do(t, "DELETE", s.testURL("http", "/open/pet/1"), nil); resp.StatusCode != 200 {
		t.Errorf("DELETE: %d %s", resp.StatusCode, body)
	}
	resp, body := do(t, "POST", s.testURL("http", "/open/pet"), strings.NewReader("x"))
	wantFault(t, resp, body, 502, CodeBackendClosed)
	if a.hits.Load() != 2 || b.hits.Load() != 1 {
		t.Errorf("hits A %d B %d, want 2 and 1", a.hits.Load(), b.hits.Load())
	}
}

// count bounds the retries, which go round the list; the last answer is
// the backend's own.
func TestRetryCountAndBodyLimit(t *testing.T) {
	a := answering(t, 503)
	b := answering(t, 503)
	s := startServer(t, openSpec(&Endpoint{URLs: []string{a.URL, b.URL}, Type: EndpointFailover,
		Retry: &Retry{Count: 2, StatusCodes: []int{503}, Interval: time.Millisecond, BackOffFactor: 2}}), testConfig(t), Options{})
	resp, _ := do(t, "GET", s.testURL("http", "/open/x"), nil)
	if resp.StatusCode != 503 || a.hits.Load() != 2 || b.hits.Load() != 1 {
		t.Errorf("GET: %d, hits A %d B %d; want 503, 2 and 1", resp.StatusCode, a.hits.Load(), b.hits.Load())
	}
	big := strings.Repeat("x", retryBodyLimit+1)
	resp, _ = do(t, "PUT", s.testURL("http", "/open/x"), strings.NewReader(big))
	if resp.StatusCode != 503 || a.hits.Load() != 3 || b.hits.Load() != 1 {
		t.Errorf("PUT of a body past the limit: %d, hits A %d B %d; want 503 and no retry", resp.StatusCode, a.hits.Load(), b.hits.Load())
	}
}

func TestRetryPolicyInterval(t *testing.T) {
	p := newRetryPolicy(&Retry{Count: 5, Interval: 100 * time.Millisecond, BackOffFactor: 2, MaxInterval: 300 * time.Millisecond})
	var got []time.Duration
	for n := range 4 {
		got = append(got, p.interval(n))
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("intervals %v, want %v", got, want)
		}
	}
	if !p.on(504) || p.on(503) {
		t.Error("without statusCodes only 504 is retried")
	}
	if newRetryPolicy(&Retry{Count: 0}) != nil {
		t.Error("count 0 retries")
	}
}

// rawRequest writes req on a new connection to s's HTTP listener and
// returns the first response and what the connection gives after it.
func rawRequest(t *testing.T, s *Server, req string) (*http.Response, string, string) {
	t.Helper()
	conn, err := net.Dial("tcp", s.addr("http").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(br)
	return resp, string(body), string(rest)
}

// A request with Content-Length and Transfer-Encoding is forwarded by its
// chunks alone, answered, and its connection closed: what followed the
// chunked body is never read as a request.
func TestSmugglingClosesTheConnection(t *testing.T) {
	be := newBackend(t, "prod")
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	resp, _, rest := rawRequest(t, s, "POST /open/a HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"3\r\nabc\r\n0\r\n\r\nGET /open/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("%d, Connection: close %v", resp.StatusCode, resp.Close)
	}
	if rest != "" || be.hits.Load() != 1 {
		t.Errorf("after the answer: %q, backend hits %d", rest, be.hits.Load())
	}
	if got := be.lastRequest(); got.Header.Get("Content-Length") != "" || be.lastBody() != "abc" {
		t.Errorf("forwarded with Content-Length %q, body %q", got.Header.Get("Content-Length"), be.lastBody())
	}
}

func TestBrokenRequestBodyIs400(t *testing.T) {
	be := answering(t, 200)
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	resp, body, _ := rawRequest(t, s, "POST /open/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
	if resp.StatusCode != 400 || !strings.Contains(body, `"code":400`) || !resp.Close {
		t.Errorf("%d %s, Connection: close %v", resp.StatusCode, body, resp.Close)
	}
}

func TestAccessLogClientAddress(t *testing.T) {
	be := newBackend(t, "prod")
	cfg := testConfig(t)
	cfg.Throttling.TrustedProxies = []string{"127.0.0.0/8", "10.0.0.0/8"}
	var logs syncbuf.Buffer
	s := startServer(t, openSpec(ep(be.URL)), cfg, Options{Logger: NewLogger(&logs, -8)})
	do(t, "GET", s.testURL("http", "/open/x"), nil, "X-Forwarded-For", "192.0.2.9, 198.51.100.1, 10.1.2.3")
	if out := logs.String(); !strings.Contains(out, "client=198.51.100.1") {
		t.Errorf("the access log does not name the client:\n%s", out)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// closingBackend is a raw HTTP/1.1 backend that answers one request per
// connection, keeping it open (no Connection: close), and closes it when
// told: a backend whose idle timeout is shorter than the gateway's.
func closingBackend(t *testing.T, closeIdle <-chan struct{}) (url string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				<-closeIdle
			}()
		}
	}()
	return "http://" + ln.Addr().String(), conns
}

// A kept-alive backend connection that the backend closed while it was
// idle is replaced by a new one for a GET, as Go's transport does, instead
// of failing the request.
func TestClosedIdleConnectionIsReplaced(t *testing.T) {
	closeIdle := make(chan struct{})
	url, conns := closingBackend(t, closeIdle)
	s := startServer(t, openSpec(ep(url)), testConfig(t), Options{})
	if resp, body := do(t, "GET", s.testURL("http", "/open/a"), nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	close(closeIdle) // the idle connection closes
	time.Sleep(100 * time.Millisecond)
	if resp, body := do(t, "GET", s.testURL("http", "/open/a"), nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("after the backend closed the idle connection: %d %q", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d backend connections, want 2", n)
	}
}

// A client that goes away while the backend has not answered ends the
// backend request at once: the gateway closes the backend connection, the
// backend's request context ends.
func TestClientGoneCancelsTheBackendRequest(t *testing.T) {
	arrived, cancelled := make(chan struct{}), make(chan struct{})
	be := newScripted(t, func(_ *scripted, w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-r.Context().Done():
			close(cancelled)
		case <-time.After(time.Minute):
		}
	})
	s := startServer(t, openSpec(ep(be.URL)), testConfig(t), Options{})
	conn, err := net.Dial("tcp", s.addr("http").String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(conn, "GET /open/slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived
	conn.Close()
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the backend request went on after the client left")
	}
}

// The response clock runs from the start of an attempt, connecting
// included: a backend whose connection hangs (a dialer that never
// answers, as a firewall dropping the SYN does) gets 504 after the
// timeout, not the dialer's own 10 s.
func TestResponseTimeoutCoversConnecting(t *testing.T) {
	hang := func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	s := startServer(t, openSpec(&Endpoint{URLs: []string{"http://backend.test"}, Timeout: 200 * time.Millisecond}), testConfig(t), Options{Dial: hang})
	start := time.Now()
	resp, body := do(t, "GET", s.testURL("http", "/open/x"), nil)
	wantFault(t, resp, body, 504, CodeBackendTimeout)
	if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
		t.Errorf("504 after %v", el)
	}
}

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// rawConn is a client connection the suite writes bytes to as they are and
// reads responses from as the wire has them.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// dialRaw opens a connection to p's plain HTTP listener; it is closed when
// the test ends, and no read or write on it waits past a minute.
func (p *proxyUnderTest) dialRaw(t *testing.T) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read reads one response to a request of method and its whole body.
// An error after the header is the body's: it broke off.
func (r *rawConn) read(method string) (*http.Response, string, error) {
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// after says what the connection does once an answer is read: "more
// bytes" when something follows, "closed" when it ends, "open" when it is
// still there after ten seconds (no check expects that: it only waits when
// something is wrong).
func (r *rawConn) after() string {
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = r.c.SetDeadline(time.Now().Add(time.Minute)) }()
	_, err := r.br.Peek(1)
	var ne net.Error
	switch {
	case err == nil:
		return "more bytes"
	case errors.As(err, &ne) && ne.Timeout():
		return "open"
	default:
		return "closed"
	}
}

// answer is a response in the suite's words: the status, and the fault
// code when the body is a micro-gw fault.
func answer(resp *http.Response, body string) string {
	var f struct {
		Fault struct {
			Code int `json:"code"`
		} `json:"fault"`
	}
	s := strconv.Itoa(resp.StatusCode)
	if json.Unmarshal([]byte(body), &f) == nil && f.Fault.Code != 0 {
		s += " fault " + strconv.Itoa(f.Fault.Code)
	}
	return s
}

// client is an HTTP client of one connection at a time that goes through
// no proxy of the environment and keeps bodies as they are; timeout 0 is
// none. Its connections are closed when the test ends.
func client(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableCompression: true, MaxConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// h2client speaks HTTP/2 to p's TLS listener.
func (p *proxyUnderTest) h2client(t *testing.T) *http.Client {
	tr := &http.Transport{TLSClientConfig: p.tls, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// do sends a request with X-Check id and header pairs, and returns the
// response and its body.
func (p *proxyUnderTest) do(t *testing.T, c *http.Client, method, url, id string, body io.Reader, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Check", id)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, string(b)
}

// only returns the one request the backend got with id, once its handler
// has returned.
func only(t *testing.T, b *recordingBackend, id string) record {
	t.Helper()
	var recs []record
	eventually(func() bool {
		recs = b.requests(id)
		return len(recs) == 1 && recs[0].Done
	})
	if len(recs) != 1 {
		t.Fatalf("backend %s got %d requests with X-Check %s, want 1", b.name, len(recs), id)
	}
	return recs[0]
}

// reached says how often each backend got id: "A 1, B 0".
func reached(p *proxyUnderTest, id string) string {
	return fmt.Sprintf("A %d, B %d", len(p.a.requests(id)), len(p.b.requests(id)))
}

// eventually reports whether cond holds within ten seconds.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// pattern is an endless reader of bytes that allocates nothing.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return len(p), nil
}

// memoryBound is the most a proxy's resident memory may grow while it
// carries a body of 64 MiB or 256 MiB: a proxy that held the body would
// pass it.
const memoryBound = 48 << 20

var vmLine = regexp.MustCompile(`(?m)^(VmRSS|VmHWM):\s+(\d+) kB$`)

// residentKB reads VmRSS and VmHWM of a process.
func residentKB(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, m := range vmLine.FindAllStringSubmatch(string(data), -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, nil
}

// peakGrowth runs f and returns how far the resident memory of pid rose
// above where it started, at its peak: the peak as the kernel keeps it
// (reset through clear_refs), or as sampled every few milliseconds where
// that cannot be reset.
func peakGrowth(t *testing.T, pid int, f func()) int64 {
	t.Helper()
	before, _, err := residentKB(pid)
	if err != nil {
		t.Fatal(err)
	}
	reset := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	stop, sampled := make(chan struct{}), make(chan int64)
	go func() {
		peak := before
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				sampled <- peak
				return
			case <-tick.C:
				if rss, _, err := residentKB(pid); err == nil && rss > peak {
					peak = rss
				}
			}
		}
	}()
	f()
	close(stop)
	peak := <-sampled
	if reset {
		if _, hwm, err := residentKB(pid); err == nil && hwm > peak {
			peak = hwm
		}
	}
	return (peak - before) << 10
}

// bounded says whether a growth stayed under memoryBound.
func bounded(growth int64) string {
	if growth < memoryBound {
		return "memory stayed under 48 MiB above its start"
	}
	return fmt.Sprintf("memory grew by %d MiB", growth>>20)
}

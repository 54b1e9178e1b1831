package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"
)

// proxyChecks are the behaviours the suite checks, in the order it runs
// them. The paths are those of recordingBackend.
var proxyChecks = []check{
	// Forwarding fields.
	{
		name: "xff-appended",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			p.do(t, client(t, 0), "GET", p.http+"/p/echo/xff", id, nil, "X-Forwarded-For", "203.0.113.7")
			return "backend X-Forwarded-For: " + strings.Join(only(t, p.a, id).Header.Values("X-Forwarded-For"), " | ")
		},
		want: "backend X-Forwarded-For: 203.0.113.7, 127.0.0.1",
	},
	{
		name: "xfp-xfh-set",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			p.do(t, client(t, 0), "GET", p.http+"/p/echo/xf", id, nil, "X-Forwarded-Proto", "ftp", "X-Forwarded-Host", "evil.example")
			h := only(t, p.a, id).Header
			host := h.Get("X-Forwarded-Host")
			if host == p.addr {
				host = "the request's Host"
			}
			return "backend X-Forwarded-Proto: " + h.Get("X-Forwarded-Proto") + "; X-Forwarded-Host: " + host
		},
		want: "backend X-Forwarded-Proto: http; X-Forwarded-Host: the request's Host",
		bare: "backend X-Forwarded-Proto: ftp; X-Forwarded-Host: evil.example",
	},
	{
		name: "forwarded-dropped",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			p.do(t, client(t, 0), "GET", p.http+"/p/echo/fwd", id, nil, "Forwarded", "for=192.0.2.60;proto=http")
			return "backend Forwarded: " + strings.Join(only(t, p.a, id).Header.Values("Forwarded"), " | ")
		},
		want: "backend Forwarded: ",
		bare: "backend Forwarded: for=192.0.2.60;proto=http",
	},
	{
		name: "host-is-backends",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			p.do(t, client(t, 0), "GET", p.http+"/p/echo/host", id, nil)
			switch host := only(t, p.a, id).Host; host {
			case strings.TrimPrefix(p.a.URL(), "http://"):
				return "backend Host: the backend's"
			case p.addr:
				return "backend Host: the client's"
			default:
				return "backend Host: " + host
			}
		},
		want: "backend Host: the backend's",
		bare: "backend Host: the client's",
	},
	{
		name: "hop-by-hop-removed",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("GET /p/echo/hop HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nConnection: X-Client-Hop, keep-alive\r\n" +
				"X-Client-Hop: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n" +
				"TE: trailers, deflate\r\n\r\n")
			resp, _, err := c.read("GET")
			if err != nil {
				return err.Error()
			}
			h := only(t, p.a, id).Header
			var sent, back []string
			for _, f := range []string{"Connection", "X-Client-Hop", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization"} {
				if h.Get(f) != "" {
					sent = append(sent, f)
				}
			}
			for _, f := range []string{"X-Backend-Hop", "Keep-Alive"} {
				if resp.Header.Get(f) != "" {
					back = append(back, f)
				}
			}
			return fmt.Sprintf("to the backend %v, TE %q; to the client %v", sent, h.Get("Te"), back)
		},
		want: `to the backend [], TE "trailers"; to the client []`,
	},

	// Streaming.
	{
		name: "response-streamed",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			req, _ := http.NewRequest("GET", p.http+"/p/stream/x", nil)
			req.Header.Set("X-Check", id)
			resp, err := client(t, 0).Do(req)
			if err != nil {
				return err.Error()
			}
			defer resp.Body.Close()
			first := make(chan string, 1)
			go func() {
				b := make([]byte, len("data: first\n\n"))
				_, err := io.ReadFull(resp.Body, b)
				first <- fmt.Sprint(string(b), err)
			}()
			got := "the first event was held back"
			select {
			case s := <-first:
				got = fmt.Sprintf("first event %q before the second was written", strings.TrimSuffix(s, "<nil>"))
			case <-time.After(10 * time.Second):
			}
			p.a.post(id + "/go-on")
			rest, _ := io.ReadAll(resp.Body)
			return got + fmt.Sprintf("; then %q", rest)
		},
		want: `first event "data: first\n\n" before the second was written; then "data: second\n\n"`,
	},
	{
		name: "request-streamed",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("POST /p/pull/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strconv.FormatInt(int64(len(pullFirst)), 16) + "\r\n" + pullFirst + "\r\n")
			got := "the first part was held back"
			if p.a.await(id+"/first-read", 10*time.Second) {
				got = "the backend read the first part before the rest was sent"
			}
			c.write("4\r\nrest\r\n0\r\n\r\n")
			resp, _, err := c.read("POST")
			if err != nil {
				return got + "; " + err.Error()
			}
			return fmt.Sprintf("%s; %s; backend got %q", got, answer(resp, ""), only(t, p.a, id).Body)
		},
		want: `the backend read the first part before the rest was sent; 200; backend got "first part;rest"`,
	},
	{
		name: "upload-64mib-streamed",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			const size = 64 << 20
			var resp *http.Response
			var body string
			growth := peakGrowth(t, p.pid, func() {
				req, _ := http.NewRequest("POST", p.http+"/p/sink/up", io.LimitReader(pattern{}, size))
				req.ContentLength = size
				req.Header.Set("X-Check", id)
				r, err := client(t, 0).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				b, _ := io.ReadAll(r.Body)
				resp, body = r, string(b)
			})
			return fmt.Sprintf("%s, backend read %s bytes; %s", answer(resp, body), body, bounded(growth))
		},
		want: "200, backend read 67108864 bytes; memory stayed under 48 MiB above its start",
	},
	{
		name: "download-256mib-streamed",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			var n int64
			var status string
			growth := peakGrowth(t, p.pid, func() {
				req, _ := http.NewRequest("GET", p.http+"/p/big/down", nil)
				req.Header.Set("X-Check", id)
				r, err := client(t, 0).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Body.Close()
				n, _ = io.Copy(io.Discard, r.Body)
				status = answer(r, "")
			})
			return fmt.Sprintf("%s, client read %d bytes; %s", status, n, bounded(growth))
		},
		want: "200, client read 268435456 bytes; memory stayed under 48 MiB above its start",
	},
	{
		name: "response-trailers",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "POST", p.http+"/p/trailers/x", id, strings.NewReader("abc"))
			return fmt.Sprintf("%s %q, trailer X-Sum %q", answer(resp, body), body, resp.Trailer.Get("X-Sum"))
		},
		want: `200 "body;", trailer X-Sum "3"`,
	},
	{
		name: "request-trailers",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("POST /p/trailers/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nTrailer: X-Req\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"3\r\nabc\r\n0\r\nX-Req: yes\r\n\r\n")
			resp, _, err := c.read("POST")
			if err != nil {
				return err.Error()
			}
			rec := only(t, p.a, id)
			return fmt.Sprintf("%s; backend got %q with the trailer X-Req %q", answer(resp, ""), rec.Body, rec.Trailer.Get("X-Req"))
		},
		want: `200; backend got "abc" with the trailer X-Req "yes"`,
		bare: `200; backend got "abc" with the trailer X-Req ""`,
	},

	// Expect: 100-continue (RFC 9110 10.1.1).
	{
		name: "expect-continue",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			return expectContinue(t, p, "/p/echo/x", id)
		},
		want: `100 Continue; then 200 "hello"; backend reached 1 times`,
	},
	{
		name: "expect-continue-refused",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			return expectContinue(t, p, "/p/secured/x", id)
		},
		want: `no 100 Continue: 401 fault 900902; backend reached 0 times`,
		bare: `100 Continue; then 200 "hello"; backend reached 1 times`,
	},

	// Connections.
	{
		name: "pipelining",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			var reqs strings.Builder
			for i := 1; i <= 3; i++ {
				fmt.Fprintf(&reqs, "GET /p/echo/pipe%d HTTP/1.1\r\nHost: h\r\nX-Check: %s\r\n\r\n", i, id)
			}
			c.write(reqs.String())
			var got []string
			for range 3 {
				resp, _, err := c.read("GET")
				if err != nil {
					return err.Error()
				}
				got = append(got, resp.Header.Get("X-Path"))
			}
			return "answers in order: " + strings.Join(got, " ")
		},
		want: "answers in order: /p/echo/pipe1 /p/echo/pipe2 /p/echo/pipe3",
	},
	{
		name: "connections-reused",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := client(t, 0)
			conns := 0
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if !i.Reused {
					conns++
				}
			}}
			const n = 50
			for range n {
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", p.http+"/p/echo/reuse", nil)
				req.Header.Set("X-Check", id)
				resp, err := c.Do(req)
				if err != nil {
					return err.Error()
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			backend := map[uint64]bool{}
			for _, r := range p.a.requests(id) {
				backend[r.Conn] = true
			}
			// Go's transport may open a second connection when a request
			// starts before the last one's connection is back in its pool.
			reuse := "reused"
			if len(backend) > 2 {
				reuse = fmt.Sprintf("%d connections", len(backend))
			}
			return fmt.Sprintf("%d requests: %d client connection, backend connections %s", n, conns, reuse)
		},
		want: "50 requests: 1 client connection, backend connections reused",
	},
	{
		name: "connection-close",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("GET /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nConnection: close\r\n\r\n")
			resp, _, err := c.read("GET")
			if err != nil {
				return err.Error()
			}
			return fmt.Sprintf("%s, Connection: close %v, then %s", answer(resp, ""), resp.Close, c.after())
		},
		want: "200, Connection: close true, then closed",
	},
	{
		name: "chunked-request-ends-connection",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
				"GET /p/echo/next HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\n\r\n")
			return afterFirst(c, "POST", "the next request")
		},
		want: `200 "abc", Connection: close true; then closed`,
		bare: `200 "abc", Connection: close false; then the next request answered 200`,
	},

	// Request smuggling (RFC 9112 6.1, 6.3).
	{
		name: "smuggling-cl-te",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			smuggled := "GET /p/echo/smuggled HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "-smuggled\r\n\r\n"
			c := p.dialRaw(t)
			c.write("POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nContent-Length: " + strconv.Itoa(13+len(smuggled)) +
				"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + smuggled)
			got := afterFirst(c, "POST", "the smuggled request")
			rec := only(t, p.a, id)
			return fmt.Sprintf("%s; backend got %q, Content-Length %q; smuggled request reached it %d times",
				got, rec.Body, rec.Header.Get("Content-Length"), len(p.a.requests(id+"-smuggled")))
		},
		want: `200 "abc", Connection: close true; then closed; backend got "abc", Content-Length ""; smuggled request reached it 0 times`,
		bare: `200 "abc", Connection: close false; then the smuggled request answered 200; backend got "abc", Content-Length ""; smuggled request reached it 1 times`,
	},
	{
		name: "smuggling-two-lengths",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			return refused(t, p, id, "POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: %s\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
		},
		want: "400, then closed; backend reached 0 times",
	},
	{
		name: "transfer-coding-not-chunked",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			var got []string
			for i, te := range []string{"gzip", "chunked, gzip", "xchunked", "chunked\r\nTransfer-Encoding: chunked"} {
				got = append(got, te+": "+refused(t, p, fmt.Sprint(id, i),
					"POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: %s\r\nTransfer-Encoding: "+te+"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
			}
			return strings.Join(got, " | ")
		},
		want: "gzip: 501, then closed; backend reached 0 times | chunked, gzip: 501, then closed; backend reached 0 times | " +
			"xchunked: 501, then closed; backend reached 0 times | chunked\r\nTransfer-Encoding: chunked: 501, then closed; backend reached 0 times",
	},
	{
		name: "bad-content-length",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			var got []string
			for i, cl := range []string{"abc", "-1", "+3", "3, 4"} {
				got = append(got, cl+": "+refused(t, p, fmt.Sprint(id, i), "POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: %s\r\nContent-Length: "+cl+"\r\n\r\nabc"))
			}
			return strings.Join(got, " | ")
		},
		want: "abc: 400, then closed; backend reached 0 times | -1: 400, then closed; backend reached 0 times | " +
			"+3: 400, then closed; backend reached 0 times | 3, 4: 400, then closed; backend reached 0 times",
	},
	{
		name: "bad-chunk-size",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
			resp, body, err := c.read("POST")
			if err != nil {
				return err.Error()
			}
			return fmt.Sprintf("%s, then %s; the backend's read failed: %v", answer(resp, body), c.after(), brokeOff(p.a, id))
		},
		want: "400 fault 400, then closed; the backend's read failed: true",
		bare: "502, then closed; the backend's read failed: true",
	},
	{
		name: "body-ends-early",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("POST /p/echo/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nContent-Length: 10\r\n\r\nabc")
			_ = c.c.(*net.TCPConn).CloseWrite()
			resp, body, err := c.read("POST")
			if err != nil {
				return err.Error()
			}
			return fmt.Sprintf("%s; the backend's read failed: %v", answer(resp, body), brokeOff(p.a, id))
		},
		want: "400 fault 400; the backend's read failed: true",
		bare: "502; the backend's read failed: true",
	},

	// A backend that breaks HTTP.
	{
		name: "response-two-lengths",
		run:  rawResponse("two-content-lengths"),
		want: "502 fault 101505",
		bare: "502",
	},
	{
		name: "response-cl-and-te",
		run:  rawResponse("cl-and-te"),
		want: `200 "abc", Content-Length ""`,
	},
	{
		name: "response-ends-early",
		run:  rawResponse("short-body"),
		// The header is still in the server's buffer when the proxy aborts.
		want: `no answer: unexpected EOF`,
	},
	{
		name: "response-bad-chunk",
		run:  rawResponse("bad-chunk"),
		want: `200 "abc", then unexpected EOF`,
	},
	{
		name: "response-none",
		run:  rawResponse("nothing"),
		want: "502 fault 101505",
		bare: "502",
	},
	{
		name: "response-garbage",
		run:  rawResponse("garbage"),
		want: "502 fault 101505",
		bare: "502",
	},

	// Failures, timeouts and retries (docs/runtime.md).
	{
		name: "post-closed-mid-request",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "POST", p.http+"/p/close/x", id, bytes.NewReader(make([]byte, 1<<20)))
			return fmt.Sprintf("%s; the POST reached the backend %d times", answer(resp, body), len(p.a.requests(id)))
		},
		want: "502 fault 101505; the POST reached the backend 1 times",
		bare: "502; the POST reached the backend 1 times",
	},
	{
		name: "unreachable",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "POST", p.http+"/p/dead/x", id, strings.NewReader("x"))
			return answer(resp, body)
		},
		want: "503 fault 101503",
		bare: "502",
	},
	{
		name: "timeout-endpoint",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			return slowBackend(t, p, "/p/slow/x", id, endpointTimeout)
		},
		want: "504 fault 101504 after the timeout; the backend request was cancelled",
		bare: "no answer; the backend request was cancelled when the client left",
	},
	{
		name: "timeout-conf",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			return slowBackend(t, p, "/p/slowall/x", id, confTimeout)
		},
		want: "504 fault 101504 after the timeout; the backend request was cancelled",
		bare: "no answer; the backend request was cancelled when the client left",
	},
	{
		name: "retry-get",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "GET", p.http+"/p/retry/503", id, nil)
			return fmt.Sprintf("%s from %s; %s", answer(resp, body), resp.Header.Get("X-Backend"), reached(p, id))
		},
		want: "200 from B; A 1, B 1",
		bare: "503 from A; A 1, B 0",
	},
	{
		name: "retry-get-after-close",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "GET", p.http+"/p/retry/close", id, nil)
			// Go's transport itself sends a GET again, once, when a
			// connection it had used before closes without an answer: A
			// may see it twice.
			a := "A reached"
			if len(p.a.requests(id)) == 0 {
				a = "A not reached"
			}
			return fmt.Sprintf("%s from %s; %s, B %d", answer(resp, body), resp.Header.Get("X-Backend"), a, len(p.b.requests(id)))
		},
		want: "200 from B; A reached, B 1",
		bare: "502 from ; A reached, B 0",
	},
	{
		name: "retry-put-with-body",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "PUT", p.http+"/p/retry/503", id, strings.NewReader("put body"))
			return fmt.Sprintf("%s %q from %s; %s", answer(resp, body), body, resp.Header.Get("X-Backend"), reached(p, id))
		},
		want: `200 "put body" from B; A 1, B 1`,
		bare: `503 "" from A; A 1, B 0`,
	},
	{
		name: "retry-never-post",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, client(t, 0), "POST", p.http+"/p/retry/503", id, strings.NewReader("post body"))
			return fmt.Sprintf("%s from %s; %s", answer(resp, body), resp.Header.Get("X-Backend"), reached(p, id))
		},
		want: "503 from A; A 1, B 0",
	},

	// Other protocols.
	{
		name: "websocket",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			c := p.dialRaw(t)
			c.write("GET /p/ws/x HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
				"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			if err != nil {
				return err.Error()
			}
			got := fmt.Sprintf("%s %s, accept %s", answer(resp, ""), resp.Header.Get("Upgrade"), resp.Header.Get("Sec-WebSocket-Accept"))
			for _, msg := range []string{"ping one", "ping two"} {
				c.write(msg)
				b := make([]byte, len(msg))
				if _, err := io.ReadFull(c.br, b); err != nil {
					return got + "; " + err.Error()
				}
				got += "; echoed " + string(b)
			}
			return got
		},
		want: "101 websocket, accept s3pPLMBiTxaQ9kYGzzhZRbK+xOo=; echoed ping one; echoed ping two",
	},
	{
		name: "http2-client",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			resp, body := p.do(t, p.h2client(t), "POST", p.https+"/p/trailers/x", id, strings.NewReader("over h2"))
			rec := only(t, p.a, id)
			return fmt.Sprintf("client %s %s %q, trailer X-Sum %q; backend %s %q, X-Forwarded-For %s",
				resp.Proto, answer(resp, body), body, resp.Trailer.Get("X-Sum"), rec.Proto, rec.Body, rec.Header.Get("X-Forwarded-For"))
		},
		want: `client HTTP/2.0 200 "body;", trailer X-Sum "7"; backend HTTP/1.1 "over h2", X-Forwarded-For 127.0.0.1`,
	},
	{
		name: "h2c-prior-knowledge",
		run: func(t *testing.T, p *proxyUnderTest, id string) string {
			// The preface has no room for an X-Check: the backend files it
			// under "".
			before := len(p.a.requests(""))
			c := p.dialRaw(t)
			c.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
			resp, body, err := c.read("PRI")
			if err != nil {
				return err.Error()
			}
			got := fmt.Sprintf("%s, then %s", answer(resp, body), c.after())
			return fmt.Sprintf("%s; backend reached %d times", got, len(p.a.requests(""))-before)
		},
		want: "404 fault 900906, then closed; backend reached 0 times",
		bare: "200, then closed; backend reached 1 times",
	},
}

// afterFirst reads the answer to the first request on c and says what the
// connection does next: closed, or what it answers to the next request.
func afterFirst(c *rawConn, method, next string) string {
	resp, body, err := c.read(method)
	if err != nil {
		return err.Error()
	}
	got := fmt.Sprintf("%s %q, Connection: close %v; then ", answer(resp, body), body, resp.Close)
	if after := c.after(); after != "more bytes" {
		return got + after
	}
	resp2, body2, err := c.read("GET")
	if err != nil {
		return got + err.Error()
	}
	return got + next + " answered " + answer(resp2, body2)
}

// refused writes the request format (with %s for its X-Check) on a new
// connection and says how it was answered and whether it reached backend A.
func refused(t *testing.T, p *proxyUnderTest, id, format string) string {
	c := p.dialRaw(t)
	c.write(fmt.Sprintf(format, id))
	resp, body, err := c.read("POST")
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s, then %s; backend reached %d times", answer(resp, body), c.after(), len(p.a.requests(id)))
}

// brokeOff reports, once the backend is done with id, whether reading its
// body failed there.
func brokeOff(b *recordingBackend, id string) bool {
	return eventually(func() bool {
		recs := b.requests(id)
		return len(recs) == 1 && recs[0].Done && recs[0].ReadErr != ""
	})
}

// expectContinue sends a body behind Expect: 100-continue, as curl does,
// and says what came before the answer.
func expectContinue(t *testing.T, p *proxyUnderTest, path, id string) string {
	c := p.dialRaw(t)
	c.write("POST " + path + " HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	resp, body, err := c.read("POST")
	if err != nil {
		return err.Error()
	}
	got := "no 100 Continue: " + answer(resp, body)
	if resp.StatusCode == http.StatusContinue {
		c.write("hello")
		if resp, body, err = c.read("POST"); err != nil {
			return err.Error()
		}
		got = fmt.Sprintf("100 Continue; then %s %q", answer(resp, body), body)
	}
	return fmt.Sprintf("%s; backend reached %d times", got, len(p.a.requests(id)))
}

// rawResponse is a check of how a broken answer of the backend
// (rawResponses) reaches the client.
func rawResponse(name string) func(*testing.T, *proxyUnderTest, string) string {
	return func(t *testing.T, p *proxyUnderTest, id string) string {
		c := p.dialRaw(t)
		c.write("GET /p/raw/" + name + " HTTP/1.1\r\nHost: h\r\nX-Check: " + id + "\r\n\r\n")
		resp, body, err := c.read("GET")
		if resp == nil {
			return "no answer: " + err.Error()
		}
		got := answer(resp, body)
		if resp.StatusCode == http.StatusOK {
			got += fmt.Sprintf(" %q", body)
			if err != nil {
				return got + ", then " + err.Error()
			}
			got += fmt.Sprintf(", Content-Length %q", resp.Header.Get("Content-Length"))
		}
		return got
	}
}

// slowBackend asks a backend that never answers, through a route whose
// timeout is timeout, and says what the client got and whether the backend
// request was cancelled. The client gives up after timeout plus
// timeoutMargin.
func slowBackend(t *testing.T, p *proxyUnderTest, path, id string, timeout time.Duration) string {
	req, _ := http.NewRequest("GET", p.http+path, nil)
	req.Header.Set("X-Check", id)
	start := time.Now()
	resp, err := client(t, timeout+timeoutMargin).Do(req)
	elapsed := time.Since(start)
	cancelled := func() bool {
		recs := p.a.requests(id)
		return len(recs) == 1 && recs[0].Cancelled
	}
	if err != nil {
		if !eventually(cancelled) {
			return "no answer; the backend request went on"
		}
		return "no answer; the backend request was cancelled when the client left"
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := answer(resp, string(body))
	switch {
	case elapsed < timeout:
		got += fmt.Sprintf(" after %v, before the timeout", elapsed)
	default:
		got += " after the timeout"
	}
	if !eventually(cancelled) {
		return got + "; the backend request went on"
	}
	return got + "; the backend request was cancelled"
}

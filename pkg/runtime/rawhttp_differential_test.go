package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawBackend records each request that reaches it, as a dump of its head
// and body, so that two gateways can be compared on what they forwarded.
type rawBackend struct {
	*httptest.Server
	mu    sync.Mutex
	dumps []string
}

func newRawBackend(t *testing.T) *rawBackend {
	b := &rawBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dump, err := httputil.DumpRequest(r, true)
		if err != nil {
			dump = []byte("dump: " + err.Error())
		}
		b.mu.Lock()
		b.dumps = append(b.dumps, string(dump))
		b.mu.Unlock()
		switch r.URL.Query().Get("answer") {
		case "empty":
			w.WriteHeader(http.StatusNoContent)
		case "html": // no Content-Type: the gateway's answer is what its server sniffs
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		case "big": // no Content-Length: chunked to an HTTP/1.1 client
			w.Header().Set("Content-Type", "text/plain")
			for range 40 {
				_, _ = io.WriteString(w, strings.Repeat("0123456789", 1000))
				w.(http.Flusher).Flush()
			}
		case "trailer":
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"uri":%q,"len":%d}`, r.URL.RequestURI(), r.ContentLength)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

// take returns what reached the backend, once nothing more has come for a
// while: a request whose body the client cut arrives when the gateway
// notices the cut.
func (b *rawBackend) take() []string {
	n := -1
	for {
		time.Sleep(150 * time.Millisecond)
		b.mu.Lock()
		if len(b.dumps) == n {
			d := b.dumps
			b.dumps = nil
			b.mu.Unlock()
			return d
		}
		n = len(b.dumps)
		b.mu.Unlock()
	}
}

// rawExchange sends raw on a new connection, half-closes nothing, and reads
// until the server closes the connection or is quiet for quiet. It returns
// the answers parsed one after the other and whether the server closed.
func rawExchange(t *testing.T, addr string, raw string, quiet time.Duration) (string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		return "write: " + err.Error(), true
	}
	var got bytes.Buffer
	closed := false
	buf := make([]byte, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(quiet))
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				closed = true
			}
			break
		}
	}
	return normalizeAnswers(got.Bytes(), strings.HasPrefix(raw, "HEAD ")), closed
}

// normalizeAnswers parses the answers in b and writes each as status, the
// headers but Date sorted, and the body (de-chunked, with trailers), so that
// two servers that frame the same answer alike compare equal.
func normalizeAnswers(b []byte, head bool) string {
	var out strings.Builder
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		if _, err := br.Peek(1); err != nil {
			break
		}
		req := &http.Request{Method: http.MethodGet}
		if head {
			req.Method = http.MethodHead
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			rest, _ := io.ReadAll(br)
			fmt.Fprintf(&out, "unparsed: %v: %q\n", err, rest)
			break
		}
		body, err := io.ReadAll(resp.Body)
		fmt.Fprintf(&out, "%s %s close=%v cl=%d te=%v\n", resp.Proto, resp.Status, resp.Close, resp.ContentLength, resp.TransferEncoding)
		keys := make([]string, 0, len(resp.Header))
		for k := range resp.Header {
			if k != "Date" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&out, "%s: %q\n", k, resp.Header[k])
		}
		fmt.Fprintf(&out, "body %q err %v trailer %v\n", body, err, resp.Trailer)
		if err != nil {
			break
		}
	}
	return out.String()
}

// TestRawHTTPSameOnBothServers sends the same bytes, well formed and not,
// to a gateway served by its own HTTP/1.1 server and to one served by
// net/http alone, and wants the same answers, the same connection
// handling, and the same requests at the backend: whatever the own server
// takes, it must read as net/http does (a request read two ways is how a
// request is smuggled past a proxy).
func TestRawHTTPSameOnBothServers(t *testing.T) {
	iss, cfg := issuerConfig(t)
	tok := iss.Token(t, nil)
	auth := "Authorization: Bearer " + tok + "\r\n"
	get := func(path string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: gw\r\n" + strings.Join(extra, "") + "\r\n"
	}
	cases := map[string]string{
		"secured GET":              get("/petstore/v1/pet/1", auth),
		"unsecured GET":            get("/petstore/v1/pet/findByStatus?status=a&b=%20c"),
		"no credentials":           get("/petstore/v1/pet/1"),
		"bad token":                get("/petstore/v1/pet/1", "Authorization: Bearer x.y.z\r\n"),
		"two authorizations":       get("/petstore/v1/pet/1", auth, auth),
		"unknown path":             get("/nope"),
		"405":                      "PUT /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n",
		"HEAD":                     "HEAD /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"sniffed type":             get("/petstore/v1/pet/findByStatus?answer=html"),
		"204":                      get("/petstore/v1/pet/findByStatus?answer=empty"),
		"chunked answer":           get("/petstore/v1/pet/findByStatus?answer=big"),
		"trailer":                  get("/petstore/v1/pet/findByStatus?answer=trailer", "TE: trailers\r\n"),
		"connection close":         get("/petstore/v1/pet/findByStatus", "Connection: close\r\n"),
		"pipelined":                get("/petstore/v1/pet/findByStatus?n=1") + get("/petstore/v1/pet/1", auth) + get("/nope"),
		"pipelined then close":     get("/petstore/v1/pet/findByStatus?n=1") + get("/petstore/v1/pet/findByStatus?n=2", "Connection: close\r\n") + get("/petstore/v1/pet/findByStatus?n=3"),
		"POST with a body":         "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"id\": 12}\n",
		"POST body then GET":       "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc" + get("/petstore/v1/pet/findByStatus"),
		"body shorter than CL":     "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 10\r\n\r\nabc",
		"chunked request":          "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"CL and TE":                "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: gw\r\n\r\n",
		"TE chunked, identity":     "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"two CL, differing":        "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc",
		"two CL, same":             "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"CL list":                  "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 3, 3\r\n\r\nabc",
		"CL plus sign":             "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: +3\r\n\r\nabc",
		"CL negative":              "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: -1\r\n\r\n",
		"CL huge":                  "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"CL with space":            "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length : 3\r\n\r\nabc",
		"GET with a body":          "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhello" + get("/petstore/v1/pet/findByStatus?after=1"),
		"expect 100":               "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
		"expect other":             "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc",
		"upgrade":                  get("/petstore/v1/pet/findByStatus", "Connection: Upgrade\r\nUpgrade: websocket\r\n"),
		"HTTP/1.0":                 "GET /petstore/v1/pet/findByStatus HTTP/1.0\r\n\r\n",
		"HTTP/1.0 keep-alive":      "GET /petstore/v1/pet/findByStatus HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + "GET /petstore/v1/pet/findByStatus?n=2 HTTP/1.0\r\n\r\n",
		"HTTP/0.9":                 "GET /petstore/v1/pet/findByStatus\r\n\r\n",
		"HTTP/2 preface":           "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"HTTP/1.2":                 "GET /petstore/v1/pet/findByStatus HTTP/1.2\r\nHost: gw\r\n\r\n",
		"HTTP/3.0":                 "GET /petstore/v1/pet/findByStatus HTTP/3.0\r\nHost: gw\r\n\r\n",
		"lowercase version":        "GET /petstore/v1/pet/findByStatus http/1.1\r\nHost: gw\r\n\r\n",
		"no Host":                  "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\n\r\n",
		"two Hosts":                "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"bad Host":                 "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: a b\r\n\r\n",
		"Host with port":           "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw:8080\r\n\r\n",
		"empty Host":               "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost:\r\n\r\n",
		"absolute form":            "GET http://other/petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"asterisk OPTIONS":         "OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n",
		"CONNECT":                  "CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n",
		"lowercase method":         "get /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"odd method":               "G@T /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"two spaces":               "GET  /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"tab separator":            "GET\t/petstore/v1/pet/findByStatus\tHTTP/1.1\r\nHost: gw\r\n\r\n",
		"space in target":          "GET /petstore/v1/pet/find ByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"fragment":                 get("/petstore/v1/pet/findByStatus#frag"),
		"encoded path":             get("/petstore/v1/pet/%66indByStatus"),
		"encoded slash":            get("/petstore/v1/pet/a%2Fb", auth),
		"dot segments":             get("/petstore/v1/store/../pet/findByStatus"),
		"double slash":             get("//petstore/v1/pet/findByStatus"),
		"no leading slash":         "GET petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"bad escape":               get("/petstore/v1/pet/%zz"),
		"NUL in target":            "GET /petstore/v1/pet/find\x00ByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"control in target":        "GET /petstore/v1/pet/find\x7fByStatus HTTP/1.1\r\nHost: gw\r\n\r\n",
		"UTF-8 in target":          "GET /petstore/v1/pet/fïnd HTTP/1.1\r\nHost: gw\r\n\r\n",
		"bare LF":                  "GET /petstore/v1/pet/findByStatus HTTP/1.1\nHost: gw\n\n",
		"bare CR":                  "GET /petstore/v1/pet/findByStatus HTTP/1.1\rHost: gw\r\r\n\r\n",
		"mixed line ends":          "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\n\r\n",
		"obs-fold":                 get("/petstore/v1/pet/findByStatus", "X-A: a\r\n b\r\n"),
		"space before colon":       get("/petstore/v1/pet/findByStatus", "X-A : a\r\n"),
		"no colon":                 get("/petstore/v1/pet/findByStatus", "X-A a\r\n"),
		"empty name":               get("/petstore/v1/pet/findByStatus", ": a\r\n"),
		"NUL in value":             get("/petstore/v1/pet/findByStatus", "X-A: a\x00b\r\n"),
		"CR in value":              get("/petstore/v1/pet/findByStatus", "X-A: a\rb\r\n"),
		"DEL in value":             get("/petstore/v1/pet/findByStatus", "X-A: a\x7fb\r\n"),
		"Latin-1 in value":         get("/petstore/v1/pet/findByStatus", "X-A: caf\xe9\r\n"),
		"odd name":                 get("/petstore/v1/pet/findByStatus", "X(A): a\r\n"),
		"underscore name":          get("/petstore/v1/pet/findByStatus", "X_A: a\r\n"),
		"lowercase names":          get("/petstore/v1/pet/1", "authorization: Bearer "+tok+"\r\nx-forwarded-for: 1.2.3.4\r\n"),
		"padded value":             get("/petstore/v1/pet/findByStatus", "X-A: \t a b \t \r\n"),
		"hop-by-hop":               get("/petstore/v1/pet/findByStatus", "Connection: X-Drop, keep-alive\r\nX-Drop: 1\r\nKeep-Alive: 5\r\nProxy-Connection: x\r\n"),
		"TE trailers":              get("/petstore/v1/pet/findByStatus", "TE: trailers, deflate\r\n"),
		"many headers":             get("/petstore/v1/pet/findByStatus", strings.Repeat("X-Many: v\r\n", 120)),
		"head over 4 KiB":          get("/petstore/v1/pet/findByStatus", "X-Big: "+strings.Repeat("a", 5000)+"\r\n"),
		"head over the limit":      get("/petstore/v1/pet/findByStatus", "X-Big: "+strings.Repeat("a", 70<<10)+"\r\n"),
		"target over 4 KiB":        get("/petstore/v1/pet/findByStatus?q=" + strings.Repeat("a", 5000)),
		"garbage":                  "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"empty lines first":        "\r\n\r\n" + get("/petstore/v1/pet/findByStatus"),
		"incomplete head":          "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\n",
		"request line only":        "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\n",
		"X-Forwarded-For chain":    get("/petstore/v1/pet/findByStatus", "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nForwarded: for=10.0.0.3\r\n"),
		"cookie and auth repeats":  get("/petstore/v1/pet/findByStatus", "Cookie: a=1\r\nCookie: b=2\r\n"),
		"Content-Type repeated":    "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nContent-Length: 0\r\n\r\n",
		"zero CL then pipelined":   "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n" + get("/nope"),
		"CONNECT-like target GET":  get("gw:443"),
		"preflight without CORS":   "OPTIONS /petstore/v1/pet/1 HTTP/1.1\r\nHost: gw\r\nOrigin: https://x\r\nAccess-Control-Request-Method: GET\r\n\r\n",
		"Transfer-Encoding on GET": "GET /petstore/v1/pet/findByStatus HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"keep-alive, close":        get("/petstore/v1/pet/findByStatus", "Connection: keep-alive, close\r\n") + get("/nope"),
		"keep-alive 1.1":           get("/petstore/v1/pet/findByStatus", "Connection: keep-alive\r\n") + get("/nope"),
		"100 pipelined":            strings.Repeat(get("/petstore/v1/pet/findByStatus?many"), 100),
		"big body then GET":        "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("b", 5000) + get("/petstore/v1/pet/findByStatus?after"),
		"Transfer-Encoding gzip":   "POST /petstore/v1/store/order HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\n",
	}
	// Each case has a gateway of each kind, each with a backend of its own,
	// so that cases run at once: most of a case is waiting to see that
	// nothing more comes.
	type outcome struct {
		answers string
		closed  bool
		at      []string // what reached the backend
	}
	exchange := func(raw string, netHTTP bool) outcome {
		be := newRawBackend(t)
		gw := startServer(t, petstore(ep(be.URL+"/v2"), nil), cfg, Options{Sources: []NamedSource{}, NetHTTP: netHTTP})
		if !netHTTP && !servedByOwn(gw) {
			t.Error("the gateway without NetHTTP does not serve HTTP with its own server: the comparison would compare net/http with itself")
		}
		var o outcome
		o.answers, o.closed = rawExchange(t, gw.addr("http").String(), raw, 300*time.Millisecond)
		for _, d := range be.take() {
			o.at = append(o.at, strings.ReplaceAll(d, strings.TrimPrefix(be.URL, "http://"), "backend"))
		}
		return o
	}
	type pair struct{ own, std outcome }
	results := make(map[string]*pair, len(cases))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 16)
	for name, raw := range cases {
		for _, netHTTP := range []bool{false, true} {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				o := exchange(raw, netHTTP)
				mu.Lock()
				defer mu.Unlock()
				p := results[name]
				if p == nil {
					p = &pair{}
					results[name] = p
				}
				if netHTTP {
					p.std = o
				} else {
					p.own = o
				}
			})
		}
	}
	wg.Wait()
	names := make([]string, 0, len(cases))
	for n := range cases {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p := results[name]
		t.Run(name, func(t *testing.T) {
			if p.own.answers != p.std.answers {
				t.Errorf("answers differ\nown server:\n%s\nnet/http:\n%s", p.own.answers, p.std.answers)
			}
			if p.own.closed != p.std.closed {
				t.Errorf("own server closed the connection: %v; net/http: %v", p.own.closed, p.std.closed)
			}
			if !slices.Equal(p.own.at, p.std.at) {
				t.Errorf("the backend got\nfrom the own server: %q\nfrom net/http: %q", p.own.at, p.std.at)
			}
		})
	}
}

// servedByOwn reports whether one of s's listeners is served by h1Server.
func servedByOwn(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, srv := range s.servers {
		if _, ok := srv.(*h1Server); ok {
			return true
		}
	}
	return false
}

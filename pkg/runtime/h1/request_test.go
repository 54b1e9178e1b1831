package h1

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// requestSeeds are request heads that must be taken, and the classics of
// request smuggling and of parsers that differ, which must not be.
var requestSeeds = []string{
	"GET /petstore/v1/pet/1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer a.b.c\r\n\r\n",
	"POST /a?b=c&d HTTP/1.1\r\nhost: x:80\r\ncontent-length: 3\r\nX-A: 1\r\nX-A:  2 \r\n\r\nabc",
	"GET /a%2Fb?%zz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\nPragma: no-cache\r\n\r\n",
	"GET /? HTTP/1.1\r\nHost: x\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
	"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET //x/../y HTTP/1.1\r\nHost: x\r\nx-lower-case: 1\r\n\r\n",
	"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: \xff\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
}

// FuzzParseRequest holds ParseRequest to a strict subset of net/http: for
// any bytes whose head it takes, http.ReadRequest (with what http.Server
// adds: a required Host, taken out of the header) takes them too, with the
// same method, target, URL, protocol, fields (values in order), Host,
// Content-Length and Close.
func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := HeadEnd(raw)
		if end < 0 {
			return
		}
		head := string(raw[:end])
		var got http.Request
		if !ParseRequest(head, &got, http.Header{"Stale": {"x"}}) {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(raw))))
		if err != nil {
			t.Fatalf("taken here, refused by net/http (%v): %q", err, head)
		}
		// http.ReadRequest refuses two Host fields and takes the one out
		// of the header; http.Server refuses an HTTP/1.1 request without
		// one or with one that is not a valid host.
		if want.Host == "" || !httpguts.ValidHostHeader(want.Host) {
			t.Fatalf("taken with Host %q, which http.Server refuses: %q", want.Host, head)
		}
		if len(want.TransferEncoding) > 0 {
			t.Fatalf("taken with Transfer-Encoding %q: %q", want.TransferEncoding, head)
		}
		if got.Method != want.Method || got.RequestURI != want.RequestURI || *got.URL != *want.URL ||
			got.Proto != want.Proto || got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor ||
			got.Host != want.Host || got.ContentLength != want.ContentLength || got.Close != want.Close {
			t.Fatalf("%q:\n got %s %q %#v %s %q %d %v\nwant %s %q %#v %s %q %d %v", head,
				got.Method, got.RequestURI, got.URL, got.Proto, got.Host, got.ContentLength, got.Close,
				want.Method, want.RequestURI, want.URL, want.Proto, want.Host, want.ContentLength, want.Close)
		}
		if !reflect.DeepEqual(got.Header, want.Header) {
			t.Fatalf("%q:\n got header %q\nwant header %q", head, got.Header, want.Header)
		}
	})
}

func TestParseRequestTakes(t *testing.T) {
	for _, s := range requestSeeds[:4] {
		var r http.Request
		if !ParseRequest(s[:HeadEnd([]byte(s))], &r, http.Header{}) {
			t.Errorf("not taken: %q", s)
		}
	}
	for _, s := range requestSeeds[4:] {
		if end := HeadEnd([]byte(s)); end > 0 {
			var r http.Request
			if ParseRequest(s[:end], &r, http.Header{}) && !strings.HasPrefix(s, "GET //x") && !strings.Contains(s, "007") && !strings.Contains(s, "#") {
				t.Errorf("taken: %q", s)
			}
		}
	}
}

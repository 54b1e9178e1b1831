package h1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
)

func readResponse(raw, method string) (Head, string, []Field, error) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 64)
	var h Head
	if err := ReadHead(br, &h); err != nil {
		return h, "", nil, err
	}
	for h.IsInterim() {
		if err := ReadHead(br, &h); err != nil {
			return h, "", nil, err
		}
	}
	var b Body
	b.Reset(br, &h, method)
	body, err := io.ReadAll(&b)
	return h, string(body), b.Trailers, err
}

func TestReadHead(t *testing.T) {
	for _, tc := range []struct {
		name, raw, method string
		status            int
		length            int64
		chunked, close    bool
		body              string
		fields            string
		trailers          string
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabcdef", "GET", 200, 3, false, false, "abc",
			"Content-Type=text/plain Content-Length=3", ""},
		{"no reason", "HTTP/1.1 204\r\n\r\n", "GET", 204, -1, false, false, "", "", ""},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", "GET", 200, 2, false, false, "hi", "Content-Length=2", ""},
		{"lower-case names", "HTTP/1.1 200 OK\r\ncontent-length: 1\r\nx-custom-field:  v \r\n\r\nz", "GET", 200, 1, false, false, "z",
			"Content-Length=1 X-Custom-Field=v", ""},
		{"chunked with trailers and extensions", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
			"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n", "GET", 200, -1, true, false, "abcde",
			"Transfer-Encoding=chunked Trailer=X-Sum", "X-Sum=5"},
		{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "GET", 200, -1, true, false, "abc",
			"Content-Length=10 Transfer-Encoding=chunked", ""},
		{"to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", "GET", 200, -1, false, false, "all of it", "", ""},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "GET", 200, 0, false, true, "", "Connection=close Content-Length=0", ""},
		{"1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", "GET", 200, 1, false, true, "x", "Content-Length=1", ""},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", "GET", 200, 1, false, false, "x",
			"Connection=Keep-Alive Content-Length=1", ""},
		{"HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD", 200, 100, false, false, "", "Content-Length=100", ""},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", "GET", 304, 100, false, false, "", "Content-Length=100", ""},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok", "GET", 200, 2, false, false, "ok",
			"Content-Length=2, 2 Content-Length=2", ""},
		{"interim first", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", 200, 0, false, false, "",
			"Content-Length=0", ""},
		{"long field", "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v", 300) + "\r\nContent-Length: 0\r\n\r\n", "GET", 200, 0, false, false, "",
			"X-Long=" + strings.Repeat("v", 300) + " Content-Length=0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, body, trailers, err := readResponse(tc.raw, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != tc.status || h.Length != tc.length || h.Chunked != tc.chunked || h.Close != tc.close || body != tc.body {
				t.Fatalf("got %d len %d chunked %v close %v body %q", h.Status, h.Length, h.Chunked, h.Close, body)
			}
			if got := fieldsString(h.Fields); got != tc.fields {
				t.Errorf("fields %q, want %q", got, tc.fields)
			}
			if got := fieldsString(trailers); got != tc.trailers {
				t.Errorf("trailers %q, want %q", got, tc.trailers)
			}
		})
	}
}

func fieldsString(fs []Field) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.Name+"="+f.Value)
	}
	return strings.Join(parts, " ")
}

func TestReadHeadRefuses(t *testing.T) {
	for name, raw := range map[string]string{
		"not HTTP":              "SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/2":                "HTTP/2.0 200 OK\r\n\r\n",
		"short status":          "HTTP/1.1 20 OK\r\n\r\n",
		"letters in status":     "HTTP/1.1 2x0 OK\r\n\r\n",
		"status below 100":      "HTTP/1.1 099 OK\r\n\r\n",
		"no space":              "HTTP/1.1 200OK\r\n\r\n",
		"two lengths":           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"two lengths in a list": "HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd",
		"bad length":            "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
		"negative length":       "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"huge length":           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"gzip coding":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"coding list":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"two codings":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
		"chunked 1.0":           "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"folded":                "HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\n\r\n",
		"space in name":         "HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n",
		"space before colon":    "HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n",
		"no colon":              "HTTP/1.1 200 OK\r\nX-A\r\n\r\n",
		"empty name":            "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
		"NUL in value":          "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
		"CR in value":           "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
		"control in status":     "HTTP/1.1 200 O\x01K\r\n\r\n",
		"head too long":         "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: "+strings.Repeat("v", 1000)+"\r\n", MaxHeadBytes/1000+1) + "\r\n",
		"field too long":        "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("v", MaxHeadBytes) + "\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, _, err := readResponse(raw, "GET"); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestReadHeadEnds(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      error
	}{
		{"nothing", "", ErrNoResponse},
		{"in the status line", "HTTP/1.1 20", io.ErrUnexpectedEOF},
		{"in the fields", "HTTP/1.1 200 OK\r\nX-A: 1\r\n", io.ErrUnexpectedEOF},
		{"in a length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", io.ErrUnexpectedEOF},
		{"in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", io.ErrUnexpectedEOF},
		{"before the last chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", io.ErrUnexpectedEOF},
		{"in the trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-A: 1\r\n", io.ErrUnexpectedEOF},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", ErrMalformed},
		{"chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", ErrMalformed},
		{"chunk size too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := readResponse(tc.raw, "GET"); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A reset before the first byte is the backend closing an idle
	// connection, as an EOF is.
	br := bufio.NewReader(errReader{syscall.ECONNRESET})
	var h Head
	if err := ReadHead(br, &h); !errors.Is(err, ErrNoResponse) {
		t.Fatalf("reset: %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestHop(t *testing.T) {
	h, _, _, err := readResponse("HTTP/1.1 200 OK\r\nConnection: X-Private, keep-alive\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\nX-Public: 2\r\nContent-Length: 0\r\n\r\n", "GET")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, f := range h.Fields {
		if !h.Hop(f.Name) {
			kept = append(kept, f.Name)
		}
	}
	if fmt.Sprint(kept) != "[X-Public]" {
		t.Fatalf("end-to-end fields %v", kept)
	}
}

// FuzzReadResponse: whatever a backend sends, reading it never panics,
// never runs past its bounds, and what it accepts holds no field a client
// could be split by.
func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3;e\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n",
		"HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 204\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, raw []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		br := bufio.NewReaderSize(strings.NewReader(string(raw)), 16)
		var h Head
		for range 4 {
			if err := ReadHead(br, &h); err != nil {
				return
			}
			if h.Status < 100 || h.Status > 999 || h.Length < -1 || h.Chunked && h.Length != -1 {
				t.Fatalf("head %+v", h)
			}
			for _, fl := range h.Fields {
				if strings.ContainsAny(fl.Value, "\r\n\x00") || fl.Name == "" || strings.ContainsAny(fl.Name, " :\r\n") {
					t.Fatalf("field %q: %q", fl.Name, fl.Value)
				}
			}
			if !h.IsInterim() {
				break
			}
		}
		var b Body
		b.Reset(br, &h, method)
		n, _ := io.Copy(io.Discard, &b)
		if n > int64(len(raw)) {
			t.Fatalf("read %d body bytes from %d", n, len(raw))
		}
		if h.Length >= 0 && !h.Chunked && b.Done() && h.HasBody(method) && n != h.Length {
			t.Fatalf("length %d, read %d", h.Length, n)
		}
		for _, fl := range b.Trailers {
			if strings.ContainsAny(fl.Value, "\r\n\x00") {
				t.Fatalf("trailer %q: %q", fl.Name, fl.Value)
			}
		}
	})
}

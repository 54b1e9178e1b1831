package e2e

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recordingBackend is the backend of the proxy-semantics suite: it records
// every request it gets, by the X-Check header the suite gives each one,
// and behaves as the request's path says (/p/<behaviour>/...):
//
//	echo       answer 200 with the body read, and Connection-listed and hop-by-hop headers of its own
//	slow       answer nothing until the request is cancelled (or a minute passes)
//	slowall    the same, on a route with the configuration's timeout
//	close      read 1 KiB of the body, then close the connection without an answer
//	status     answer the status of the next path segment (/p/status/503)
//	stream     write a chunk, wait for the suite's word, write another
//	pull       read the body's first part, tell the suite, read the rest
//	big        answer 256 MiB
//	sink       read the body to its end, answer its length
//	trailers   answer with a trailer; record the request's trailers
//	ws         switch to the websocket protocol and echo what comes
//	raw        write the response named by the next segment, bytes as they are
//	retry      the status (or "close") of the next segment on backend A; 200 on B
type recordingBackend struct {
	name  string
	srv   *httptest.Server
	conns atomic.Uint64

	mu      sync.Mutex
	records map[string][]*record
	events  map[string]chan struct{}
}

// record is one request as the backend received it. A handler fills in its
// own copy and publishes it when it returns; requests gives copies.
type record struct {
	Method, URI, Proto, Host string
	Header, Trailer          http.Header
	Body                     string // the first 64 KiB
	Size                     int64  // bytes read
	ReadErr                  string // why reading the body failed, if it did
	Conn                     uint64 // which connection it came on
	Cancelled                bool   // the request was cancelled while the backend waited
	Done                     bool   // the handler has returned
}

type connKey struct{}

// bigSize is the size of the big answer and the big upload's double.
const bigSize = 256 << 20

func newRecordingBackend(t *testing.T, name string) *recordingBackend {
	b := &recordingBackend{name: name, records: map[string][]*record{}, events: map[string]chan struct{}{}}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, b.conns.Add(1))
	}
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

func (b *recordingBackend) URL() string { return b.srv.URL }

// requests returns what arrived with X-Check id, as far as the handlers
// have published it.
func (b *recordingBackend) requests(id string) []record {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]record, 0, len(b.records[id]))
	for _, r := range b.records[id] {
		out = append(out, *r)
	}
	return out
}

// event returns the channel of a named event, made on first use; post
// closes it, and waiting on it returns once posted.
func (b *recordingBackend) event(name string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.events[name]
	if !ok {
		ch = make(chan struct{})
		b.events[name] = ch
	}
	return ch
}

func (b *recordingBackend) post(name string) {
	ch := b.event(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// await reports whether the event was posted within d.
func (b *recordingBackend) await(name string, d time.Duration) bool {
	select {
	case <-b.event(name):
		return true
	case <-time.After(d):
		return false
	}
}

func (b *recordingBackend) serve(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Check")
	rec := &record{Method: r.Method, URI: r.RequestURI, Proto: r.Proto, Host: r.Host, Header: r.Header.Clone()}
	rec.Conn, _ = r.Context().Value(connKey{}).(uint64)
	published := *rec
	b.mu.Lock()
	b.records[id] = append(b.records[id], &published)
	b.mu.Unlock()
	defer func() {
		rec.Done = true
		b.mu.Lock()
		published = *rec
		b.mu.Unlock()
	}()

	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/p/"), "/")
	arg := ""
	if len(segs) > 1 {
		arg = segs[1]
	}
	w.Header().Set("X-Backend", b.name)
	w.Header().Set("X-Path", r.URL.Path)
	switch segs[0] {
	case "slow", "slowall":
		select {
		case <-r.Context().Done():
			rec.Cancelled = true
		case <-time.After(time.Minute):
		}
	case "close":
		b.readBody(rec, r.Body, 1<<10)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	case "status":
		b.readBody(rec, r.Body, -1)
		code, _ := strconv.Atoi(arg)
		w.WriteHeader(code)
	case "retry":
		b.readBody(rec, r.Body, -1)
		switch {
		case b.name != "A":
			_, _ = w.Write([]byte(rec.Body))
		case arg == "close":
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		default:
			code, _ := strconv.Atoi(arg)
			w.WriteHeader(code)
		}
	case "stream":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		_ = http.NewResponseController(w).Flush()
		if b.await(id+"/go-on", 30*time.Second) {
			_, _ = io.WriteString(w, "data: second\n\n")
		}
	case "pull":
		part := make([]byte, len(pullFirst))
		n, err := io.ReadFull(r.Body, part)
		rec.Size = int64(n)
		if err == nil && string(part) == pullFirst {
			b.post(id + "/first-read")
		}
		b.readBody(rec, r.Body, -1)
		rec.Body = string(part) + rec.Body
	case "big":
		w.Header().Set("Content-Length", strconv.Itoa(bigSize))
		chunk := make([]byte, 1<<20)
		for i := 0; i < bigSize/len(chunk); i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case "sink":
		n, _ := io.Copy(io.Discard, r.Body)
		rec.Size = n
		_, _ = io.WriteString(w, strconv.FormatInt(n, 10))
	case "trailers":
		b.readBody(rec, r.Body, -1)
		rec.Trailer = r.Trailer.Clone()
		w.Header().Set("Trailer", "X-Sum")
		_, _ = io.WriteString(w, "body;")
		w.Header().Set("X-Sum", strconv.Itoa(len(rec.Body)))
	case "ws":
		b.websocket(w, r)
	case "raw":
		b.readBody(rec, r.Body, -1)
		if conn, buf, err := http.NewResponseController(w).Hijack(); err == nil {
			_, _ = buf.WriteString(rawResponses[arg])
			_ = buf.Flush()
			conn.Close()
		}
	default: // echo
		b.readBody(rec, r.Body, -1)
		w.Header().Set("Connection", "X-Backend-Hop")
		w.Header().Set("X-Backend-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=30")
		_, _ = io.WriteString(w, rec.Body)
	}
}

// pullFirst is the first part of the pull check's body.
const pullFirst = "first part;"

// rawResponses are the broken answers of /p/raw/<name>.
var rawResponses = map[string]string{
	"two-content-lengths": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"cl-and-te":           "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"short-body":          "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
	"bad-chunk":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n",
	"nothing":             "",
	"garbage":             "hello\r\n\r\n",
}

// readBody reads at most limit bytes of the body (all when limit < 0) into rec.
func (b *recordingBackend) readBody(rec *record, body io.Reader, limit int64) {
	if limit >= 0 {
		body = io.LimitReader(body, limit)
	}
	var sb strings.Builder
	n, err := io.Copy(&sb, io.LimitReader(body, 64<<10))
	if err == nil {
		var more int64
		more, err = io.Copy(io.Discard, body)
		n += more
	}
	rec.Body, rec.Size = sb.String(), rec.Size+n
	if err != nil {
		rec.ReadErr = err.Error()
	}
}

// websocket answers an RFC 6455 opening handshake and echoes the bytes
// that follow (frames are not parsed: the suite checks the proxy carries
// bytes both ways once the protocol has switched).
func (b *recordingBackend) websocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "not a websocket handshake", http.StatusBadRequest)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	_ = buf.Flush()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	echo(conn, buf.Reader)
}

// echo writes back what it reads until the reader ends.
func echo(w io.Writer, r *bufio.Reader) {
	p := make([]byte, 4096)
	for {
		n, err := r.Read(p)
		if n > 0 {
			if _, werr := w.Write(p[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

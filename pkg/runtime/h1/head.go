// Package h1 speaks HTTP/1.1 to backends for the gateway's proxy
// (docs/runtime.md, "Endpoints and proxying"): keep-alive connections pooled
// per backend address, and a strict reader of what a backend answers
// (RFC 9112): the response head, and a body framed by its length, by chunks
// (with trailers) or by the end of the connection. Writing the request is
// the proxy's: it knows which fields go on. On the server side it parses
// the request heads the HTTP listener takes itself (request.go;
// docs/runtime.md, "Listeners").
//
// It is a client of one kind of peer, on one goroutine per exchange: no
// connection has a goroutine of its own, and nothing is handed between
// goroutines on the way, which is where Go's http.Transport spends a good
// part of a proxied request.
package h1

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"syscall"
)

// MaxHeadBytes bounds a response head (status line, fields and their line
// ends), as http.Transport's default MaxResponseHeaderBytes does.
const MaxHeadBytes = 1 << 20

// ErrNoResponse marks a connection that ended (or was reset) before the
// first byte of a response: on a kept-alive connection, the backend closed
// it while it was idle, and a request that cannot have been used may go
// again on a new one.
var ErrNoResponse = errors.New("the connection ended before a response")

// ErrMalformed marks an answer of the backend that is not HTTP/1.1 as RFC
// 9112 has it: the proxy answers 502 and closes the connection.
var ErrMalformed = errors.New("malformed response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Field is one header or trailer field as the backend sent it: the name in
// its canonical form, the value without surrounding white space.
type Field struct {
	Name, Value string
}

// Head is a response head.
type Head struct {
	Status int
	Minor  int // HTTP/1.Minor
	// Fields are every field in order, including those that frame the
	// body and manage the connection, which Head also reads below.
	Fields []Field
	// Length is the Content-Length, -1 when there is none (or the body is
	// chunked, which wins over a length).
	Length  int64
	Chunked bool
	// Close: the backend ends the connection after this response
	// (Connection: close, or HTTP/1.0 without keep-alive).
	Close bool
	// Connection holds the tokens of the Connection fields, lower case:
	// the fields they name are hop-by-hop.
	Connection []string
}

// IsInterim reports whether the response is a 1xx other than 101: another
// head follows on the connection.
func (h *Head) IsInterim() bool {
	return h.Status >= 100 && h.Status < 200 && h.Status != http.StatusSwitchingProtocols
}

// HasBody reports whether a body follows the head of a response to a
// request with method (RFC 9112 6.3: never after HEAD, 1xx, 204, 304).
func (h *Head) HasBody(method string) bool {
	return method != http.MethodHead && h.Status >= 200 && h.Status != http.StatusNoContent && h.Status != http.StatusNotModified
}

// Hop reports whether the field name (canonical) is hop-by-hop in this
// response: one of RFC 9110's connection fields or one the Connection
// field lists.
func (h *Head) Hop(name string) bool {
	if hopByHop(name) {
		return true
	}
	for _, t := range h.Connection {
		if len(t) == len(name) && asciiEqualFold(t, name) {
			return true
		}
	}
	return false
}

// hopByHop reports whether name is a field that only ever concerns one
// connection (RFC 9110 7.6.1, and those of the same kind that HTTP/1.0-era
// software sends), or one that frames the message, which the proxy
// recomputes.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length":
		return true
	}
	return false
}

// ReadHead reads a response head from br into h, whose Fields slice it
// reuses. It returns an ErrNoResponse error when the connection ended
// before the first byte of a response (a keep-alive connection the backend
// closed), and an ErrMalformed error for anything that is not a response
// head.
func ReadHead(br *bufio.Reader, h *Head) error {
	*h = Head{Fields: h.Fields[:0], Length: -1, Connection: h.Connection[:0]}
	budget := MaxHeadBytes
	line, err := readLine(br, &budget)
	if err != nil {
		if budget == MaxHeadBytes && (err == io.EOF || errors.Is(err, syscall.ECONNRESET)) {
			return fmt.Errorf("%w: %w", ErrNoResponse, err)
		}
		return err
	}
	if err := h.parseStatus(line); err != nil {
		return err
	}
	if err := readFields(br, &budget, &h.Fields); err != nil {
		return err
	}
	return h.frame()
}

// readLine reads one line ending in CRLF (a bare LF is taken as well, as
// RFC 9112 2.2 allows a recipient to), without its end, charging its length
// to budget. The slice is valid until the next read from br.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Longer than the buffer: gather it, within the budget.
		full := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(full) > *budget {
				return nil, malformed("response head over %d bytes", MaxHeadBytes)
			}
			line, err = br.ReadSlice('\n')
			full = append(full, line...)
		}
		line = full
	}
	*budget -= len(line)
	if *budget < 0 {
		return nil, malformed("response head over %d bytes", MaxHeadBytes)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatus reads "HTTP/1.x SSS reason".
func (h *Head) parseStatus(line []byte) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return malformed("bad status line %q", clip(line))
	}
	switch line[7] {
	case '0':
		h.Minor = 0
	case '1':
		h.Minor = 1
	default:
		return malformed("bad status line %q", clip(line))
	}
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return malformed("bad status code %q", clip(line))
		}
	}
	h.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if h.Status < 100 {
		return malformed("bad status code %q", clip(line))
	}
	for _, c := range line[min(len(line), 13):] {
		if c < ' ' && c != '\t' || c == 0x7f {
			return malformed("control character in the status line")
		}
	}
	return nil
}

// readFields reads field lines up to the empty line that ends a head or a
// trailer section, appending them to fields.
func readFields(br *bufio.Reader, budget *int, fields *[]Field) error {
	for {
		line, err := readLine(br, budget)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold (RFC 9112 5.2): a proxy may refuse it, and does.
			return malformed("folded field line")
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return malformed("field line without a name %q", clip(line))
		}
		name := line[:colon]
		for _, c := range name {
			if !isTokenChar(c) {
				return malformed("bad field name %q", clip(name))
			}
		}
		value := trimOWS(line[colon+1:])
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return malformed("control character in field %q", clip(name))
			}
		}
		*fields = append(*fields, Field{Name: canonicalName(name), Value: string(value)})
	}
}

// frame reads the fields that frame the body and manage the connection.
func (h *Head) frame() error {
	keepAlive := false
	var te string
	teCount := 0
	for _, f := range h.Fields {
		switch f.Name {
		case "Content-Length":
			n, err := parseLength(f.Value)
			if err != nil {
				return err
			}
			if h.Length >= 0 && h.Length != n {
				return malformed("two different Content-Length values")
			}
			h.Length = n
		case "Transfer-Encoding":
			te = f.Value
			teCount++
		case "Connection":
			for _, t := range splitTokens(f.Value) {
				switch {
				case asciiEqualFold(t, "close"):
					h.Close = true
				case asciiEqualFold(t, "keep-alive"):
					keepAlive = true
				}
				h.Connection = append(h.Connection, t)
			}
		}
	}
	if teCount > 0 {
		if teCount > 1 || !asciiEqualFold(te, "chunked") {
			return malformed("transfer coding %q (only chunked is understood)", te)
		}
		if h.Minor == 0 {
			return malformed("chunked response from HTTP/1.0")
		}
		h.Chunked, h.Length = true, -1
	}
	if h.Minor == 0 && !keepAlive {
		h.Close = true
	}
	return nil
}

// parseLength reads a Content-Length value: digits only, or a list of one
// value repeated (RFC 9110 8.6).
func parseLength(v string) (int64, error) {
	var n int64 = -1
	for _, part := range splitList(v) {
		m, ok := digits(part)
		if !ok {
			return 0, malformed("bad Content-Length %q", v)
		}
		if n >= 0 && m != n {
			return 0, malformed("two different Content-Length values")
		}
		n = m
	}
	if n < 0 {
		return 0, malformed("bad Content-Length %q", v)
	}
	return n, nil
}

// digits reads one Content-Length value: 1 to 18 ASCII digits, no sign and
// no white space, so that it cannot overflow an int64. Both sides use it:
// the backend's answers (a list of it, above) and the client's requests.
func digits(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// splitList splits a comma-separated field value, trimming each element.
func splitList(v string) []string {
	var out []string
	for {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		out = append(out, string(trimOWS([]byte(v[:i]))))
		if i == len(v) {
			return out
		}
		v = v[i+1:]
	}
}

// splitTokens is splitList without the empty elements.
func splitTokens(v string) []string {
	out := splitList(v)
	n := 0
	for _, t := range out {
		if t != "" {
			out[n] = t
			n++
		}
	}
	return out[:n]
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isTokenChar reports whether c may appear in a token (RFC 9110 5.6.2).
func isTokenChar(c byte) bool {
	return c < 0x80 && tokenTable[c]
}

var tokenTable = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// canonicalName is the canonical form of a field name, without allocating
// for the names backends send most.
func canonicalName(b []byte) string {
	if s, ok := commonNames[string(b)]; ok {
		return s
	}
	return textproto.CanonicalMIMEHeaderKey(string(b))
}

// commonNames maps the names backends send most, as sent and in lower
// case, to their canonical form.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Connection", "Content-Encoding",
		"Content-Language", "Content-Length", "Content-Type", "Date", "Etag", "Expires", "Keep-Alive",
		"Last-Modified", "Location", "Pragma", "Server", "Set-Cookie", "Strict-Transport-Security", "Trailer",
		"Transfer-Encoding", "Vary", "Via", "Www-Authenticate", "X-Content-Type-Options", "X-Request-Id",
	} {
		m[n] = n
		m[string(bytes.ToLower([]byte(n)))] = n
	}
	m["ETag"] = "Etag"
	m["WWW-Authenticate"] = "Www-Authenticate"
	return m
}()

// clip shortens what goes into an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

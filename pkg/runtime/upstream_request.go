package runtime

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// outgoing is the request as it goes to the backend (docs/runtime.md, "What
// the backend receives"), prepared once for every attempt: the fields that
// the gateway writes itself, and how the body is framed.
type outgoing struct {
	r     *http.Request
	rest  string // the escaped path after the endpoint's own path
	query string
	// upgrade is the protocol a client asks to switch to (Connection:
	// upgrade), "" for none.
	upgrade string
	// connTokens are the fields the client's Connection field names:
	// hop-by-hop, never passed on.
	connTokens []string
	xff        string // X-Forwarded-For: what the client sent, then its address
	proto      string // X-Forwarded-Proto
	trailers   bool   // the client accepts trailers (TE: trailers)
	// length frames the body: >0 its Content-Length, -1 chunked, 0 none
	// (then sendLength0 says whether to write Content-Length: 0).
	length      int64
	sendLength0 bool
	expect      bool   // Expect: 100-continue, with a body to hold back
	trailerDecl string // the request's declared trailer fields
	// basic is the endpoint's own Authorization (securityConfig), sent
	// over whatever the client sent; "" for none.
	basic string
}

// newOutgoing prepares r for its endpoint; rest is the escaped path the
// backend gets after its own, basic the endpoint's Authorization ("" for
// none).
func newOutgoing(r *http.Request, rest, basic string) (*outgoing, error) {
	o := &outgoing{r: r, rest: rest, query: r.URL.RawQuery, proto: "http", basic: basic}
	if r.TLS != nil {
		o.proto = "https"
	}
	h := r.Header
	for _, v := range h["Connection"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				o.connTokens = append(o.connTokens, http.CanonicalHeaderKey(t))
				if strings.EqualFold(t, "upgrade") {
					o.upgrade = h.Get("Upgrade")
				}
			}
		}
	}
	if o.upgrade != "" && !printableASCII(o.upgrade) {
		return nil, errors.New("the client asked to switch to a protocol whose name is not printable ASCII")
	}
	for _, v := range h["Te"] {
		for _, t := range strings.Split(v, ",") {
			if t, _, _ = strings.Cut(t, ";"); strings.EqualFold(strings.TrimSpace(t), "trailers") {
				o.trailers = true
			}
		}
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	o.xff = ip
	if prior := h["X-Forwarded-For"]; len(prior) > 0 {
		o.xff = strings.Join(prior, ", ") + ", " + ip
	}
	switch {
	case r.Body == nil || r.Body == http.NoBody:
		// A request that said Content-Length: 0 keeps saying it, as Go's
		// transport does for the methods that carry a body.
		o.sendLength0 = r.ContentLength == 0 && (r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH" || len(h["Content-Length"]) > 0)
	case r.ContentLength > 0:
		o.length = r.ContentLength
	default:
		o.length = -1
	}
	if o.length != 0 {
		o.expect = hasToken(h["Expect"], "100-continue")
		if o.length < 0 && len(r.Trailer) > 0 {
			names := make([]string, 0, len(r.Trailer))
			for k := range r.Trailer {
				names = append(names, k)
			}
			o.trailerDecl = strings.Join(names, ", ")
		}
	}
	return o, nil
}

// writeHead writes the request line and the fields for target tg: the
// client's end-to-end fields, the gateway's X-Forwarded-* and Host, and the
// framing of the body.
func (o *outgoing) writeHead(bw *bufio.Writer, tg *target) error {
	r := o.r
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(tg.path)
	bw.WriteString(o.rest)
	if o.query != "" {
		bw.WriteByte('?')
		bw.WriteString(o.query)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(tg.host)
	bw.WriteString("\r\n")
	for k, vv := range r.Header {
		if o.skip(k) {
			continue
		}
		for _, v := range vv {
			if !validFieldValue(v) {
				return errors.New("a request field holds a line break or NUL: " + k)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("X-Forwarded-For: ")
	bw.WriteString(o.xff)
	if validFieldValue(r.Host) {
		bw.WriteString("\r\nX-Forwarded-Host: ")
		bw.WriteString(r.Host)
	}
	bw.WriteString("\r\nX-Forwarded-Proto: ")
	bw.WriteString(o.proto)
	bw.WriteString("\r\n")
	if o.basic != "" {
		bw.WriteString("Authorization: ")
		bw.WriteString(o.basic)
		bw.WriteString("\r\n")
	}
	if o.upgrade != "" {
		bw.WriteString("Connection: Upgrade\r\nUpgrade: ")
		bw.WriteString(o.upgrade)
		bw.WriteString("\r\n")
	}
	if o.trailers {
		bw.WriteString("Te: trailers\r\n")
	}
	switch {
	case o.length > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), o.length, 10))
		bw.WriteString("\r\n")
	case o.length < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if o.trailerDecl != "" {
			bw.WriteString("Trailer: ")
			bw.WriteString(o.trailerDecl)
			bw.WriteString("\r\n")
		}
	case o.sendLength0:
		bw.WriteString("Content-Length: 0\r\n")
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// skip reports whether the client's field k stays behind: hop-by-hop
// (RFC 9110 7.6.1, and those the Connection field names), the framing the
// gateway writes itself, the forwarding fields it writes itself, and
// Forwarded, which cannot be told from one a proxy wrote; and the client's
// Authorization when the endpoint sends its own.
func (o *outgoing) skip(k string) bool {
	if k == "Authorization" && o.basic != "" {
		return true
	}
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding",
		"Upgrade", "Content-Length", "Host", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded":
		return true
	}
	for _, t := range o.connTokens {
		if t == k {
			return true
		}
	}
	return false
}

// sendBody streams the body after the head: what view gives, framed by its
// length or in chunks (then the request's trailers), flushed piece by
// piece so that the backend gets each as the client sends it. With Expect:
// 100-continue it first waits on gate: true (the backend asked for the
// body, or a second passed) sends it, false (the backend answered without
// it) does not.
func (o *outgoing) sendBody(bw *bufio.Writer, view *bodyView, buf []byte, gate <-chan bool) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	if o.expect {
		t := time.NewTimer(expectContinueTimeout)
		select {
		case send := <-gate:
			t.Stop()
			if !send {
				return errBodyNotSent
			}
		case <-t.C:
		}
	}
	for {
		n, rerr := view.Read(buf)
		if n > 0 {
			if o.length < 0 {
				bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(n), 16))
				bw.WriteString("\r\n")
			}
			bw.Write(buf[:n])
			if o.length < 0 {
				bw.WriteString("\r\n")
			}
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if o.length < 0 {
		bw.WriteString("0\r\n")
		for k, vv := range o.r.Trailer {
			for _, v := range vv {
				if validFieldValue(v) {
					bw.WriteString(k)
					bw.WriteString(": ")
					bw.WriteString(v)
					bw.WriteString("\r\n")
				}
			}
		}
		bw.WriteString("\r\n")
	}
	return bw.Flush()
}

// expectContinueTimeout is how long a body behind Expect: 100-continue is
// held back waiting for the backend's 100 Continue, as Go's transport
// waits.
const expectContinueTimeout = time.Second

// errBodyNotSent: the backend answered a request with Expect:
// 100-continue without asking for its body, which was not sent.
var errBodyNotSent = errors.New("the backend answered before asking for the body")

// validFieldValue reports whether v can go into a field line: no line
// break and no NUL, which would end the line or the message.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// hasToken reports whether one of the comma-separated elements of values
// is token, in any case.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

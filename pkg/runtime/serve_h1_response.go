package runtime

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// h1Response is the ResponseWriter (and Flusher) of h1Server. It frames
// a response as http.Server's does, byte for byte (serve_h1_test.go
// compares the two): the header as it was when the status was set, sorted,
// then Content-Type sniffed when the handler set none, Connection,
// Transfer-Encoding, Date and Content-Length; a body of up to 2 KiB that
// the handler finished gets a Content-Length, a longer or flushed one is
// chunked; HEAD, 1xx, 204 and 304 carry no body; declared and
// TrailerPrefix trailers follow the last chunk.
type h1Response struct {
	c   *h1Conn
	req *http.Request
	// body is the request's body, read to its end (or not) before the
	// head goes out, as net/http does.
	body *h1Body

	header http.Header // the handler's, live
	status int         // 0 until the final status is set
	// contentLength is the handler's Content-Length, or the one computed
	// for a finished short body; -1 when there is none.
	contentLength int64
	written       int64
	handlerDone   bool

	// out buffers the body in front of the chunk framing, as net/http's
	// 2 KiB buffer does: a body that fits and is finished gets a length.
	out   *bufio.Writer
	wrote bool // the head went to the connection's writer
	// What the head is made of, fixed when the status was set.
	snap             []byte // the header's lines, sorted
	connFrom, connTo int    // where snap's Connection lines are
	connValue        string // the first Connection value
	te               string // the first Transfer-Encoding value
	trailers         []string
	hasTrailers      bool
	hasDate          bool
	sniff            bool // no Content-Type, Content-Encoding nor Transfer-Encoding
	lengthDropped    bool // a Content-Length beside a Transfer-Encoding, not sent
	chunking         bool
	closeAfterReply  bool
	bodyTooBig       bool // the request body left unread is too big to read past
	keys             []string
	numBuf           [20]byte
	dateBuf          [32]byte
	clenBuf          [20]byte
}

// maxPostHandlerReadBytes is how much of a request body net/http reads
// past, when the handler left it unread, to keep the connection.
const maxPostHandlerReadBytes = 256 << 10

func (w *h1Response) reset(r *http.Request, body *h1Body) {
	clear(w.header)
	*w = h1Response{c: w.c, req: r, body: body, header: w.header, contentLength: -1, out: w.out,
		snap: w.snap[:0], trailers: w.trailers[:0], keys: w.keys[:0]}
	w.out.Reset(chunkWriter{w})
}

func (w *h1Response) Header() http.Header { return w.header }

func (w *h1Response) WriteHeader(code int) {
	if w.status != 0 {
		w.c.srv.logf("http: superfluous response.WriteHeader call")
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.c.bw
		w.writeStatusLine(code)
		_ = w.header.WriteSubset(bw, excludedNoBody)
		bw.WriteString("\r\n")
		_ = bw.Flush()
		return
	}
	w.status = code
	if cl := firstValue(w.header, "Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.contentLength = v
		} else {
			w.c.srv.logf("http: invalid Content-Length of %q", cl)
			w.header.Del("Content-Length")
		}
	}
	w.fix()
}

var excludedNoBody = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}

// fix takes what the head will be made of from the header as it is now;
// what the handler changes later is for trailers.
func (w *h1Response) fix() {
	h := w.header
	isHEAD := w.req.Method == http.MethodHead
	code := w.status
	for _, v := range h["Trailer"] {
		w.hasTrailers = true
		for _, t := range strings.Split(v, ",") {
			if t = textproto.TrimString(t); t != "" {
				if t = http.CanonicalHeaderKey(t); httpguts.ValidTrailerHeader(t) {
					w.trailers = append(w.trailers, t)
				}
			}
		}
	}
	w.te = firstValue(h, "Transfer-Encoding")
	hasTE := w.te != ""
	_, haveType := h["Content-Type"]
	_, w.hasDate = h["Date"]
	w.sniff = !haveType && !hasTE && h.Get("Content-Encoding") == ""
	w.connValue = firstValue(h, "Connection")
	if w.contentLength != -1 && hasTE && w.te != "identity" {
		w.c.srv.logf("http: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", w.te, w.contentLength)
		w.lengthDropped = true
	}
	noBody := isHEAD || !bodyAllowedForStatus(code)
	dropTE := noBody || w.contentLength != -1 && !w.lengthDropped || w.te == "identity" || w.te == "chunked"
	keys := w.keys[:0]
	for k := range h {
		switch {
		case strings.HasPrefix(k, http.TrailerPrefix):
			w.hasTrailers = true
			continue
		case k == "Content-Length" && (w.lengthDropped || !bodyAllowedForStatus(code)):
			continue
		case k == "Transfer-Encoding" && (dropTE || !bodyAllowedForStatus(code)):
			continue
		case k == "Content-Type" && code == http.StatusNotModified:
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.keys = keys
	w.connFrom, w.connTo = -1, -1
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		if k == "Connection" {
			w.connFrom = len(w.snap)
		}
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n") {
				v = newlineToSpace.Replace(v)
			}
			v = textproto.TrimString(v)
			w.snap = append(append(append(append(w.snap, k...), ": "...), v...), "\r\n"...)
		}
		if k == "Connection" {
			w.connTo = len(w.snap)
		}
	}
}

var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeHead writes the head, p being the start of the body (nil when
// there is none or it was flushed before any).
func (w *h1Response) writeHead(p []byte) {
	w.wrote = true
	keepAlives := !w.c.srv.shuttingDown()
	isHEAD := w.req.Method == http.MethodHead
	code := w.status
	hasTE := w.te != ""
	var contentLength []byte
	if w.handlerDone && !w.hasTrailers && !hasTE && bodyAllowedForStatus(code) && w.contentLength == -1 && (!isHEAD || len(p) > 0) {
		w.contentLength = int64(len(p))
		contentLength = strconv.AppendInt(w.clenBuf[:0], int64(len(p)), 10)
	}
	if w.req.Close || w.connValue == "close" || !keepAlives {
		w.closeAfterReply = true
	}
	if w.req.ContentLength != 0 && !w.closeAfterReply {
		w.readPastBody()
	}
	contentType := ""
	if bodyAllowedForStatus(code) && w.sniff && len(p) > 0 {
		contentType = http.DetectContentType(p)
	}
	hasCL := w.contentLength != -1 && !w.lengthDropped
	if !isHEAD && bodyAllowedForStatus(code) && !hasCL {
		if hasTE && w.te == "identity" {
			w.closeAfterReply = true
		} else {
			w.chunking = true
		}
	}
	connection := ""
	dropConnection := w.bodyTooBig || w.closeAfterReply && (!keepAlives || !hasToken([]string{w.connValue}, "close")) &&
		!(code == http.StatusSwitchingProtocols && w.header.Get("Upgrade") != "" &&
			httpguts.HeaderValuesContainsToken(w.header["Connection"], "Upgrade"))
	if dropConnection {
		connection = "close"
	}
	bw := w.c.bw
	w.writeStatusLine(code)
	snap := w.snap
	if dropConnection && w.connFrom >= 0 {
		bw.Write(snap[:w.connFrom])
		snap = snap[w.connTo:]
	}
	bw.Write(snap)
	if !w.hasDate {
		bw.WriteString("Date: ")
		bw.Write(time.Now().UTC().AppendFormat(w.dateBuf[:0], http.TimeFormat))
		bw.WriteString("\r\n")
	}
	if contentLength != nil {
		bw.WriteString("Content-Length: ")
		bw.Write(contentLength)
		bw.WriteString("\r\n")
	}
	transferEncoding := ""
	if w.chunking {
		transferEncoding = "chunked"
	}
	for _, f := range [...][2]string{{"Content-Type", contentType}, {"Connection", connection}, {"Transfer-Encoding", transferEncoding}} {
		if f[1] != "" {
			bw.WriteString(f[0])
			bw.WriteString(": ")
			bw.WriteString(f[1])
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
}

// readPastBody reads what the handler left of the request body, as
// net/http does before the head goes out: up to 256 KiB, beyond which the
// connection closes after the response.
func (w *h1Response) readPastBody() {
	b := w.body
	switch {
	case b.left == 0 && b.err == nil:
	case b.err != nil:
		w.closeAfterReply = true
	case b.left >= maxPostHandlerReadBytes:
		w.bodyTooBig = true
		w.closeAfterReply = true
	default:
		if _, err := b.br.Discard(int(b.left)); err != nil {
			b.err = err
			w.closeAfterReply = true
		}
		b.left = 0
	}
}

func (w *h1Response) writeStatusLine(code int) {
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	if text := http.StatusText(code); text != "" {
		bw.Write(strconv.AppendInt(w.numBuf[:0], int64(code), 10))
		bw.WriteByte(' ')
		bw.WriteString(text)
		bw.WriteString("\r\n")
	} else {
		fmt.Fprintf(bw, "%03d status code %d\r\n", code, code)
	}
}

func (w *h1Response) Write(p []byte) (int, error) {
	if err := w.admit(len(p)); err != nil || len(p) == 0 {
		return 0, err
	}
	return w.out.Write(p)
}

// WriteString is Write without a copy to bytes; as with net/http's, a
// long string goes through the buffer in pieces of its size.
func (w *h1Response) WriteString(s string) (int, error) {
	if err := w.admit(len(s)); err != nil || len(s) == 0 {
		return 0, err
	}
	return w.out.WriteString(s)
}

// admit counts n bytes of body about to be written, setting the status
// first if the handler did not.
func (w *h1Response) admit(n int) error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return nil
	}
	if !bodyAllowedForStatus(w.status) {
		return http.ErrBodyNotAllowed
	}
	w.written += int64(n)
	if w.contentLength != -1 && w.written > w.contentLength {
		return http.ErrContentLength
	}
	return nil
}

func (w *h1Response) Flush() { _ = w.FlushError() }

// FlushError sends what is buffered to the client (http.ResponseController
// calls it).
func (w *h1Response) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if err := w.out.Flush(); err != nil {
		return err
	}
	if !w.wrote {
		w.writeHead(nil)
	}
	return w.c.bw.Flush()
}

// finish ends the response after the handler returned: the buffered body,
// the last chunk and the trailers.
func (w *h1Response) finish() {
	w.handlerDone = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.out.Flush()
	if !w.wrote {
		w.writeHead(nil)
	}
	bw := w.c.bw
	if w.chunking {
		bw.WriteString("0\r\n")
		if t := w.finalTrailers(); t != nil {
			_ = t.Write(bw)
		}
		bw.WriteString("\r\n")
	}
	_ = bw.Flush()
}

func (w *h1Response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.header {
		if kk, found := strings.CutPrefix(k, http.TrailerPrefix); found {
			if t == nil {
				t = http.Header{}
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		if t == nil {
			t = http.Header{}
		}
		for _, v := range w.header[k] {
			t.Add(k, v)
		}
	}
	return t
}

// reusable reports whether the connection can take another request.
func (w *h1Response) reusable() bool {
	if w.closeAfterReply || w.c.werr != nil {
		return false
	}
	if w.req.Method != http.MethodHead && w.contentLength != -1 && bodyAllowedForStatus(w.status) && w.contentLength != w.written {
		// The handler wrote less than its Content-Length.
		return false
	}
	return true
}

// chunkWriter frames what h1Response's buffer passes on: the head first,
// then each piece as a chunk when chunking.
type chunkWriter struct{ w *h1Response }

func (cw chunkWriter) Write(p []byte) (int, error) {
	w := cw.w
	if !w.wrote {
		w.writeHead(p)
	}
	if w.req.Method == http.MethodHead {
		return len(p), nil
	}
	bw := w.c.bw
	if w.chunking {
		bw.Write(strconv.AppendUint(w.numBuf[:0], uint64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunking && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	return n, err
}

// bodyAllowedForStatus reports whether a response with this status has a
// body (RFC 9110 6.4.1).
func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199, status == http.StatusNoContent, status == http.StatusNotModified:
		return false
	}
	return true
}

func firstValue(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// h1Body is a request body framed by its Content-Length, read from the
// connection's reader.
type h1Body struct {
	br     *bufio.Reader
	left   int64
	err    error // the read error that ended it early
	closed bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	switch {
	case err == io.EOF:
		// Cut short by the client; as with net/http, the body is over
		// and later reads say so.
		err = io.ErrUnexpectedEOF
		b.left = 0
	case err != nil:
		b.err = err
	case b.left == 0:
		err = io.EOF
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.closed = true
	return nil
}

package runtime

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime/h1"
)

// respond answers the client with the backend's response whose head h was
// read from c: its end-to-end fields, its status, its body as it comes
// (flushed piece by piece when its length is unknown or it is an event
// stream, so that a client reads each event when the backend sends it), and
// its trailers. It returns whether c can carry another exchange. A body
// that breaks off after the head went out aborts the client's response
// (http.ErrAbortHandler): a client must never take a cut body for a whole
// one.
func (u *upstream) respond(x *exchange, r *http.Request, c *h1.Conn, h *h1.Head, clock *responseClock) (reusable bool) {
	hdr := x.Header()
	var announced []string
	for _, f := range h.Fields {
		switch {
		case f.Name == "Trailer":
			for _, t := range strings.Split(f.Value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					announced = append(announced, http.CanonicalHeaderKey(t))
				}
			}
		case !h.Hop(f.Name):
			hdr[f.Name] = append(hdr[f.Name], f.Value)
		}
	}
	if h.Length >= 0 && h.Status != http.StatusNoContent && h.Status >= 200 {
		hdr["Content-Length"] = []string{strconv.FormatInt(h.Length, 10)}
	}
	if len(announced) > 0 {
		hdr["Trailer"] = []string{strings.Join(announced, ", ")}
	}
	x.WriteHeader(h.Status)

	var body h1.Body
	body.Reset(c.BR, h, r.Method)
	if err := u.copyBody(x, &body, h.Length < 0 || isEventStream(hdr), clock); err != nil {
		u.logger.Debug("the backend's response broke off; the client's is cut", "endpoint", u.name, "err", err)
		c.Close()
		panic(http.ErrAbortHandler)
	}
	if len(body.Trailers) > 0 {
		if len(announced) == 0 {
			// Trailers no field announced: chunk the client's response
			// (a short body would otherwise get a Content-Length and no
			// trailers), as httputil.ReverseProxy does.
			flush(x)
		}
		for _, f := range body.Trailers {
			k := f.Name
			if !containsName(announced, k) {
				k = http.TrailerPrefix + k
			}
			hdr[k] = append(hdr[k], f.Value)
		}
	}
	return body.Done() && !h.Close
}

// copyBody copies the response body to the client, flushing after each
// piece when flushEach. A whole body already buffered (a short response)
// goes in one write, without a copy buffer; any other first lifts the
// response timeout from the connection.
func (u *upstream) copyBody(x *exchange, body *h1.Body, flushEach bool, clock *responseClock) error {
	if n := body.Buffered(); n > 0 && body.Whole(n) {
		b, _ := body.Peek(n)
		if _, err := x.Write(b); err != nil {
			return fmt.Errorf("write to the client: %w", err)
		}
		body.Discard(n)
		return nil
	}
	if body.Done() {
		return nil
	}
	clock.clear()
	buf := u.buffers.Get()
	defer u.buffers.Put(buf)
	for {
		n, rerr := body.Read(buf[:])
		if n > 0 {
			if _, err := x.Write(buf[:n]); err != nil {
				return fmt.Errorf("write to the client: %w", err)
			}
			if flushEach {
				flush(x)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// flush sends what the server holds of the response to the client.
func flush(x *exchange) {
	if f, ok := x.ResponseWriter.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(x.ResponseWriter).Flush()
}

// isEventStream reports whether the response is text/event-stream, which
// reaches the client event by event.
func isEventStream(hdr http.Header) bool {
	ct := hdr["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct[0])
	return mt == "text/event-stream"
}

func containsName(names []string, k string) bool {
	for _, n := range names {
		if n == k {
			return true
		}
	}
	return false
}

// switchProtocols passes on the backend's 101 Switching Protocols to the
// protocol the client asked for (WebSocket, or any Upgrade): the 101 head
// goes to the client's connection, taken from the server, and from then on
// bytes flow both ways until either side closes. The exchange owns both
// connections until then; it returns an error (502) when the backend
// switched to another protocol or the client's connection cannot be taken
// (HTTP/2).
func (u *upstream) switchProtocols(x *exchange, o *outgoing, c *h1.Conn, h *h1.Head) error {
	up := ""
	for _, f := range h.Fields {
		if f.Name == "Upgrade" {
			up = f.Value
		}
	}
	if o.upgrade == "" || !strings.EqualFold(up, o.upgrade) {
		return fmt.Errorf("the backend switched to %q when the client asked for %q", up, o.upgrade)
	}
	client, brw, err := http.NewResponseController(x.ResponseWriter).Hijack()
	if err != nil {
		return fmt.Errorf("cannot switch protocols on this client connection: %w", err)
	}
	defer client.Close()
	x.status = http.StatusSwitchingProtocols
	w := brw.Writer
	w.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	for _, f := range h.Fields {
		if !h.Hop(f.Name) && validFieldValue(f.Value) {
			w.WriteString(f.Name)
			w.WriteString(": ")
			w.WriteString(f.Value)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("Connection: Upgrade\r\nUpgrade: ")
	w.WriteString(up)
	w.WriteString("\r\n\r\n")
	if err := w.Flush(); err != nil {
		return nil // the client is gone: nothing to answer
	}
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(c.NC, brw.Reader) // the client's bytes, those the server had read first
	go pipe(client, c.BR)     // the backend's, those read past its head first
	<-done
	c.Close()
	client.Close()
	<-done
	return nil
}

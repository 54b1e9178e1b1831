package h1

import (
	"bufio"
	"io"
)

// Body reads a response body as its head frames it: Length bytes, chunks
// (then the trailer section, into Trailers), or everything up to the end of
// the connection. It reports io.ErrUnexpectedEOF for a body cut short and an
// ErrMalformed error for broken chunks: the client's response must then be
// aborted, never ended as if it were whole.
type Body struct {
	br      *bufio.Reader
	left    int64 // bytes left: of the body (Length), or of the current chunk
	chunked bool
	toEOF   bool
	done    bool
	err     error
	// Trailers are the trailer fields of a chunked body, once it is read to
	// its end.
	Trailers []Field
}

// Reset makes b the reader of the body that head frames on br, for a
// request of method; b's Trailers slice is reused.
func (b *Body) Reset(br *bufio.Reader, h *Head, method string) {
	*b = Body{br: br, Trailers: b.Trailers[:0]}
	switch {
	case !h.HasBody(method):
		b.done = true
	case h.Chunked:
		b.chunked = true
	case h.Length >= 0:
		b.left = h.Length
		b.done = h.Length == 0
	default:
		b.toEOF = true
	}
}

// Done reports whether the body has been read to its end, as framed: the
// connection can then carry another exchange (unless the response said
// Connection: close, or the body ran to the end of the connection).
func (b *Body) Done() bool { return b.done && b.err == nil && !b.toEOF }

// Buffered is how much of the body can be read without waiting: what is in
// the reader's buffer, for a body with a length.
func (b *Body) Buffered() int {
	if b.chunked || b.done {
		return 0
	}
	return min(b.br.Buffered(), int(min(b.left, int64(1<<30))))
}

// Whole reports whether n bytes are all that is left of a body with a
// length.
func (b *Body) Whole(n int) bool { return !b.chunked && !b.toEOF && !b.done && int64(n) == b.left }

// Peek returns the next n bytes of a body with a length without reading
// them (n at most Buffered), valid until the next read.
func (b *Body) Peek(n int) ([]byte, error) { return b.br.Peek(n) }

// Discard reads n bytes of a body with a length that Peek returned.
func (b *Body) Discard(n int) {
	d, _ := b.br.Discard(n)
	b.left -= int64(d)
	if b.left == 0 {
		b.done = true
	}
}

func (b *Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done || len(p) == 0 {
		if b.done {
			return 0, io.EOF
		}
		return 0, nil
	}
	switch {
	case b.toEOF:
		n, err := b.br.Read(p)
		if err == io.EOF {
			b.done = true
		}
		return n, err
	case b.chunked:
		return b.readChunked(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 {
		b.done = true
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// maxChunkLine bounds a chunk-size line with its extensions; maxTrailer the
// trailer section.
const (
	maxChunkLine = 4096
	maxTrailer   = 64 << 10
)

func (b *Body) readChunked(p []byte) (int, error) {
	for b.left == 0 {
		if err := b.nextChunk(); err != nil {
			b.err = err
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	if b.left == 0 && err == nil {
		err = b.chunkEnd()
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// nextChunk reads a chunk-size line (RFC 9112 7.1); at the last chunk, the
// trailer section too.
func (b *Body) nextChunk() error {
	budget := maxChunkLine
	line, err := readLine(b.br, &budget)
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	// Extensions after ';' are ignored (RFC 9112 7.1.1).
	for i, c := range line {
		if c == ';' {
			line = trimOWS(line[:i])
			break
		}
	}
	if len(line) == 0 || len(line) > 15 {
		return malformed("bad chunk size")
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return malformed("bad chunk size")
		}
		n = n<<4 | int64(c)
	}
	if n == 0 {
		budget := maxTrailer
		if err := readFields(b.br, &budget, &b.Trailers); err != nil {
			return err
		}
		b.done = true
		return nil
	}
	b.left = n
	return nil
}

// chunkEnd reads the CRLF after a chunk's data.
func (b *Body) chunkEnd() error {
	c, err := b.br.ReadByte()
	if err == nil && c == '\r' {
		c, err = b.br.ReadByte()
	}
	if err != nil {
		return err
	}
	if c != '\n' {
		return malformed("chunk data longer than its size")
	}
	return nil
}

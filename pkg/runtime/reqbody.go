package runtime

import (
	"io"
	"sync"
	"sync/atomic"
)

// retryBodyLimit is the most of a request body the gateway keeps to send it
// again on a retry. A larger body is streamed as any other and not retried:
// keeping it would let every retryable request hold megabytes.
const retryBodyLimit = 64 << 10

// requestBody is the client's request body on its way to the backend,
// shared by the attempts of one request. It records what the decisions
// after an attempt need: whether any of it was read (a request whose body
// was read may have reached the backend), whether reading it failed (the
// client's fault, not the backend's) and whether it was read to its end.
// For a request that may be retried it also keeps what it read, up to
// retryBodyLimit, so that the next attempt can send it again.
//
// One attempt reads it at a time: each attempt gets a bodyView, and the
// next attempt starts only once the transport has closed the view of the
// one before (it may go on reading after RoundTrip has returned).
type requestBody struct {
	src  io.ReadCloser // the server's body; the server closes it
	keep bool          // keep what is read, for a retry

	// kept is what was read so far while keep holds and nothing overflowed;
	// only the attempt that reads touches it.
	kept []byte

	read     atomic.Bool // something was read
	eof      atomic.Bool // src reached io.EOF
	overflow atomic.Bool // more than retryBodyLimit was read: it cannot be sent again

	mu  sync.Mutex
	err error // the first read error other than io.EOF
}

// readErr is the error reading the client's body failed with, nil if none.
func (b *requestBody) readErr() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// wasRead reports whether any of the body was read.
func (b *requestBody) wasRead() bool { return b != nil && b.read.Load() }

// replayable reports whether the next attempt can send the whole body
// again: everything read so far is kept.
func (b *requestBody) replayable() bool {
	return b == nil || (b.keep && !b.overflow.Load() && b.readErr() == nil)
}

// complete reports whether the body was read to its end and kept whole.
func (b *requestBody) complete() bool {
	return b == nil || (b.eof.Load() && b.replayable())
}

// view returns the reader of one attempt: what was kept, then the rest of
// the client's body. The clock does not run while the view
// waits for the client.
func (b *requestBody) view(clock *responseClock) *bodyView {
	return &bodyView{b: b, clock: clock, closed: make(chan struct{})}
}

// bodyView is one attempt's reader of a requestBody. Close does not close
// the client's body (the server does); it tells the next attempt that the
// transport is done with this one.
type bodyView struct {
	b         *requestBody
	off       int // how much of b.kept this view has given out
	clock     *responseClock
	closed    chan struct{}
	closeOnce sync.Once
}

func (v *bodyView) Read(p []byte) (int, error) {
	b := v.b
	if v.off < len(b.kept) {
		n := copy(p, b.kept[v.off:])
		v.off += n
		return n, nil
	}
	if b.eof.Load() {
		return 0, io.EOF
	}
	if err := b.readErr(); err != nil {
		return 0, err
	}
	v.clock.pause()
	n, err := b.src.Read(p)
	v.clock.resume()
	if n > 0 {
		b.read.Store(true)
		if b.keep && !b.overflow.Load() {
			if len(b.kept)+n > retryBodyLimit {
				b.overflow.Store(true)
				b.kept = nil
			} else {
				b.kept = append(b.kept, p[:n]...)
			}
		}
		v.off = len(b.kept)
	}
	switch {
	case err == io.EOF:
		b.eof.Store(true)
	case err != nil:
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

func (v *bodyView) Close() error {
	v.closeOnce.Do(func() { close(v.closed) })
	return nil
}

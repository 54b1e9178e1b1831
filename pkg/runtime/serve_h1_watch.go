package runtime

import (
	"errors"
	"os"
	"sync"
	"time"
)

// watchAfter is how long a request runs before its connection is watched
// for the client going away. http.Server reads every connection while its
// handler runs, a goroutine parked and woken for each request; most
// requests are over long before this, and pay only for a timer.
const watchAfter = 500 * time.Millisecond

// connWatch reads a client connection while a slow request is handled:
// the end of the connection (the client went away) cancels the
// connection's context, and with it the request's, which stops the
// proxy's exchange with the backend. A byte that arrives (a pipelined
// request) is kept for the reader.
type connWatch struct {
	c     *h1Conn
	timer *time.Timer
	done  chan struct{}

	mu      sync.Mutex
	armed   bool // a request is being handled whose body is read
	reading bool
	pending [1]byte
	npend   int
}

func (w *connWatch) init(c *h1Conn) {
	w.c = c
	w.done = make(chan struct{}, 1)
	w.timer = time.AfterFunc(time.Hour, w.run)
	w.timer.Stop()
}

// start arms the watch for a request whose body is all read (or that has
// none).
func (w *connWatch) start() {
	w.mu.Lock()
	w.armed = true
	w.mu.Unlock()
	w.timer.Reset(watchAfter)
}

// stop ends the watch when the request is over, before the connection
// is read again.
func (w *connWatch) stop() {
	w.mu.Lock()
	w.armed = false
	if w.reading {
		// Wake the read up.
		_ = w.c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	w.mu.Unlock()
	if !w.timer.Stop() {
		<-w.done
	}
}

func (w *connWatch) run() {
	defer func() { w.done <- struct{}{} }()
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	w.reading = true
	_ = w.c.nc.SetReadDeadline(time.Time{})
	w.mu.Unlock()
	n, err := w.c.nc.Read(w.pending[:])
	w.mu.Lock()
	w.reading = false
	w.npend = n
	stopped := !w.armed
	w.mu.Unlock()
	if n == 0 && err != nil && !(stopped && errors.Is(err, os.ErrDeadlineExceeded)) {
		w.c.cancel()
	}
}

// Read is the connection as its reader reads it: the watch's byte first.
func (w *connWatch) Read(p []byte) (int, error) {
	if w.npend > 0 && len(p) > 0 {
		p[0] = w.pending[0]
		w.npend = 0
		return 1, nil
	}
	return w.c.nc.Read(p)
}

package build

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// reminder prints a line now and then while a long step runs. The first
// build on a machine compiles the runtime's dependencies (etcd's client,
// gRPC, Prometheus) for minutes, and a build that prints nothing for that
// long looks hung.
type reminder struct {
	mu   sync.Mutex // guards out: the step's own lines and the reminder's
	out  io.Writer
	stop chan struct{}
	done chan struct{}
	// first and every space the lines: after first, then every every.
	first, every time.Duration
}

func (r *reminder) printf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format, a...)
}

// start reminds of step until Stop; a reminder already running is stopped.
func (r *reminder) start(step string) {
	r.Stop()
	stop, done := make(chan struct{}), make(chan struct{})
	r.stop, r.done = stop, done
	begin := time.Now()
	go func() {
		defer close(done)
		t := time.NewTimer(r.first)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			took := time.Since(begin).Round(time.Second)
			if n == 0 {
				r.printf("\t%s: still running after %s; the first build on a machine compiles the runtime's dependencies, which takes a few minutes (later builds take seconds)\n", step, took)
			} else {
				r.printf("\t%s: still running after %s\n", step, took)
			}
			t.Reset(r.every)
		}
	}()
}

// Stop ends the reminder, if one runs, and returns once it printed its last.
func (r *reminder) Stop() {
	if r.stop == nil {
		return
	}
	close(r.stop)
	<-r.done
	r.stop, r.done = nil, nil
}

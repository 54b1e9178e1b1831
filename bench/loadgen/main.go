// Command loadgen sends requests at a fixed rate (an open loop: a request is
// due at start + i/rate whether or not the earlier ones have been answered,
// up to -conns in flight) and reports exact latency percentiles (every
// latency is kept and sorted). A latency is counted from when the request
// is written, so that the timer's coarseness (Go sleeps to about 1 ms here)
// does not blur sub-millisecond figures; "late" counts the requests that
// found every connection busy, which would otherwise hide a stall
// (coordinated omission). wrk has no fixed-rate mode.
//
// The load is bounded: -duration seconds and at most rate*duration
// requests, to a loopback URL only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/bench/internal/gwbench"
)

func main() {
	target := flag.String("url", "", "URL to load (loopback only)")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	warmup := flag.Duration("warmup", time.Second, "load at the same rate before measuring, not counted")
	conns := flag.Int("conns", 64, "most requests in flight (keep-alive connections)")
	header := flag.String("H", "", `one request header, "Name: value"`)
	jsonOut := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()
	if _, err := gwbench.LoopbackURL(*target); err != nil {
		fail("%v", err)
	}
	if *rate <= 0 || *duration <= 0 || *conns <= 0 {
		fail("-rate, -duration and -conns must be positive")
	}
	var hname, hval string
	if *header != "" {
		for i := 0; i < len(*header); i++ {
			if (*header)[i] == ':' {
				hname, hval = (*header)[:i], trim((*header)[i+1:])
				break
			}
		}
		if hname == "" {
			fail("bad -H %q", *header)
		}
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
	newReq := func() *http.Request {
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, *target, nil)
		if hname != "" {
			r.Header.Set(hname, hval)
		}
		return r
	}
	if *warmup > 0 {
		run(client, newReq, *rate, *warmup, *conns)
	}
	res := run(client, newReq, *rate, *duration, *conns)
	if *jsonOut {
		_ = json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("sent %d at %.0f/s for %s: ok %d, errors %d, late starts %d\n", res.Sent, *rate, *duration, res.OK, res.Errors, res.Late)
	fmt.Printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", res.P50, res.P90, res.P99, res.P999, res.Max)
}

// result is what one run measured; latencies in milliseconds.
type result struct {
	Sent, OK, Errors, Late int64
	Rate                   float64
	P50, P90, P99, P999    float64
	Max                    float64
}

func run(client *http.Client, newReq func() *http.Request, rate float64, d time.Duration, conns int) result {
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, n)
	var ok, errs, late atomic.Int64
	due := make(chan int, conns*4)
	start := time.Now()
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range due {
				sent := time.Now()
				resp, err := client.Do(newReq())
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						ok.Add(1)
					} else {
						errs.Add(1)
					}
				} else {
					errs.Add(1)
				}
				lat[i] = time.Since(sent)
			}
		}()
	}
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w) // requests that fell due meanwhile go out at once below
		}
		select {
		case due <- i:
		default:
			late.Add(1) // every connection busy: it waits, and its wait is counted
			due <- i
		}
	}
	close(due)
	wg.Wait()
	slices.Sort(lat)
	ms := func(q float64) float64 { return gwbench.Millis(lat, q) }
	return result{Sent: int64(n), OK: ok.Load(), Errors: errs.Load(), Late: late.Load(), Rate: rate,
		P50: ms(0.50), P90: ms(0.90), P99: ms(0.99), P999: ms(0.999), Max: ms(1)}
}

func trim(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", a...)
	os.Exit(2)
}

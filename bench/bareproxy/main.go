// Command bareproxy is the baseline of the throughput and latency rows: a
// bare net/http/httputil.ReverseProxy to the backend, with no routing, no
// authentication and no revocation check — what the gateway costs is
// measured against it. It has the gateway's idle-connection pool and pooled
// copy buffers, and the ReverseProxy defaults otherwise (FlushInterval 0:
// it still flushes event streams and bodies of unknown length at once).
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	_ "net/http/pprof" // on -pprof's listener only: the proxy has its own handler
	"net/url"
	"sync"
	"time"
)

// bufferPool is an httputil.BufferPool of 32 KB buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32*1024)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	backend := flag.String("backend", "http://127.0.0.1:18080", "backend URL")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (for profiling the baseline)")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }()
	}
	u, err := url.Parse(*backend)
	if err != nil {
		log.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	// The same connection pool the gateway's proxy is given: enough idle
	// connections for the load's concurrency, so neither side re-dials.
	p.Transport = &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	// Pooled copy buffers, as the gateway's proxy has: without them every
	// response allocates 32 KB, and the baseline would be easier to beat.
	p.BufferPool = &bufferPool{}
	p.ErrorLog = log.Default()
	srv := &http.Server{Addr: *addr, Handler: p, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("bare proxy listening on %s -> %s", *addr, *backend)
	log.Fatal(srv.ListenAndServe())
}

// Command bareproxy is the baseline of the throughput and latency rows: a
// bare net/http/httputil.ReverseProxy to the backend, with no routing, no
// authentication and no revocation check — what the gateway costs is
// measured against it.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	backend := flag.String("backend", "http://127.0.0.1:18080", "backend URL")
	flag.Parse()
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
	p.ErrorLog = log.Default()
	srv := &http.Server{Addr: *addr, Handler: p, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("bare proxy listening on %s -> %s", *addr, *backend)
	log.Fatal(srv.ListenAndServe())
}

// Command backend is the upstream of the benchmarks: a plain HTTP/1.1
// server on loopback that answers every request 200 with a small JSON body,
// so that the gateway, the bare proxy and HAProxy are measured against the
// same, cheap backend.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address (loopback)")
	flag.Parse()
	body := []byte(`{"id":42,"name":"doggie","status":"available"}` + "\n")
	clen := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = []string{"application/json"}
		hdr["Content-Length"] = []string{clen}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	log.Printf("backend listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

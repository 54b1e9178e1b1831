// Command bareproxy is Go's own reverse proxy as a user would write it, for
// the proxy-semantics suite (e2e/proxy_test.go), which holds micro-gw to it:
// httputil.NewSingleHostReverseProxy to -a (to -dead for paths under
// /p/dead/), on a plain listener and a TLS one with HTTP/2, with net/http's
// default server settings. It runs as a process of its own, as the gateway
// does, so that its memory is measured alone and it runs at full speed when
// the suite runs with the race detector.
//
// It prints one JSON line, {"http": URL, "https": URL, "cert": PEM}, and
// serves on loopback until its standard input closes.
package main

import (
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
)

func main() {
	a := flag.String("a", "", "the backend URL")
	dead := flag.String("dead", "", "the URL of /p/dead/")
	flag.Parse()
	if err := run(*a, *dead); err != nil {
		fmt.Fprintln(os.Stderr, "bareproxy:", err)
		os.Exit(1)
	}
}

func run(a, dead string) error {
	toA, err := single(a)
	if err != nil {
		return err
	}
	toDead, err := single(dead)
	if err != nil {
		return err
	}
	// Not a ServeMux: it would answer some requests itself (the "*" of
	// OPTIONS and PRI) that the suite means for the proxy.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/p/dead/") {
			toDead.ServeHTTP(w, r)
			return
		}
		toA.ServeHTTP(w, r)
	})
	plain := httptest.NewServer(h)
	defer plain.Close()
	secure := httptest.NewUnstartedServer(h)
	secure.EnableHTTP2 = true
	secure.StartTLS()
	defer secure.Close()
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
	if err := json.NewEncoder(os.Stdout).Encode(map[string]string{"http": plain.URL, "https": secure.URL, "cert": string(cert)}); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

func single(raw string) (*httputil.ReverseProxy, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("not a URL: %q", raw)
	}
	return httputil.NewSingleHostReverseProxy(u), nil
}

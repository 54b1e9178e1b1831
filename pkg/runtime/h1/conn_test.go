package h1

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// pipeDialer dials in-memory connections whose far end reads and drops
// whatever comes, and counts the dials.
func pipeDialer(t *testing.T) (Dialer, *int) {
	dials := 0
	return func(context.Context, string, string) (net.Conn, error) {
		dials++
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		go func() { _, _ = io.Copy(io.Discard, b) }()
		return a, nil
	}, &dials
}

func TestHostReusesIdleConnections(t *testing.T) {
	dial, dials := pipeDialer(t)
	tr := &Transport{Dial: dial, MaxIdle: 2}
	h := tr.Host("backend:80", false, "backend")
	ctx := context.Background()
	a, err := h.Get(ctx, time.Time{})
	if err != nil || a.Reused {
		t.Fatalf("first: %v, reused %v", err, a.Reused)
	}
	b, _ := h.Get(ctx, time.Time{})
	c, _ := h.Get(ctx, time.Time{})
	if *dials != 3 {
		t.Fatalf("%d dials for three connections in use", *dials)
	}
	a.Put()
	b.Put()
	c.Put() // over MaxIdle: the oldest idle one (a) goes
	if got, _ := h.Get(ctx, time.Time{}); got != c || !got.Reused {
		t.Fatal("the most recently used connection did not come first")
	}
	if got, _ := h.Get(ctx, time.Time{}); got != b {
		t.Fatal("the second idle connection did not come next")
	}
	if got, _ := h.Get(ctx, time.Time{}); got == a || *dials != 4 {
		t.Fatalf("a connection beyond MaxIdle was kept (%d dials)", *dials)
	}
	if _, err := a.NC.Write([]byte("x")); err == nil {
		t.Fatal("the connection dropped from the pool is still open")
	}
}

func TestHostDropsConnectionsIdleTooLong(t *testing.T) {
	dial, dials := pipeDialer(t)
	tr := &Transport{Dial: dial, IdleTimeout: 20 * time.Millisecond}
	h := tr.Host("backend:80", false, "backend")
	a, _ := h.Get(context.Background(), time.Time{})
	a.Put()
	time.Sleep(50 * time.Millisecond)
	if got, _ := h.Get(context.Background(), time.Time{}); got == a || *dials != 2 {
		t.Fatal("a connection idle past IdleTimeout was reused")
	}
	h.CloseIdle()
}

// TestHostTLS: an https backend is reached over TLS, its certificate
// checked against the transport's roots and the URL's host, speaking
// HTTP/1.1 whatever else the backend offers.
func TestHostTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	tr := &Transport{TLS: &tls.Config{RootCAs: pool}}
	c, err := tr.Host(addr, true, "example.com").Get(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c.BW.WriteString("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	if err := c.BW.Flush(); err != nil {
		t.Fatal(err)
	}
	var h Head
	if err := ReadHead(c.BR, &h); err != nil {
		t.Fatal(err)
	}
	var b Body
	b.Reset(c.BR, &h, "GET")
	body, _ := io.ReadAll(&b)
	if h.Status != 200 || string(body) != "HTTP/1.1" {
		t.Fatalf("%d %q", h.Status, body)
	}
	c.Close()
	if _, err := tr.Host(addr, true, "not-the-name.test").Get(context.Background(), time.Time{}); err == nil {
		t.Fatal("a certificate for another name was accepted")
	}
}

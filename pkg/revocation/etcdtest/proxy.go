package etcdtest

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/micro-gw/micro-gw/internal/cutproxy"
)

// Proxy is a TCP proxy in front of an etcd endpoint (internal/cutproxy).
// Cut drops every open connection and refuses new ones until Restore, which
// looks to a client like a network partition while the server keeps running
// (so a test can write and compact behind the client's back).
type Proxy struct {
	*cutproxy.Proxy
	// Endpoint is the proxy's client URL, to give to the client under test.
	Endpoint string
}

// NewProxy starts a proxy to target (an endpoint such as Server.Endpoint) for
// the duration of the test.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		tb.Fatalf("etcdtest: proxy target %q is not a URL", target)
	}
	p := cutproxy.Start(tb, u.Host)
	return &Proxy{Proxy: p, Endpoint: fmt.Sprintf("%s://%s", u.Scheme, p.Addr())}
}

package revocation

import (
	"net"
	"net/url"

	"github.com/micro-gw/micro-gw/pkg/internal/loopback"
)

// The loopback addresses that `micro-gw dev` serves by default
// (pkg/devservices takes its defaults from here). A gateway whose conf came
// from micro-gw dev's banner and cannot reach them most likely lacks a
// running micro-gw dev, and says so.
const (
	DevEtcdAddr  = "127.0.0.1:2379"
	DevStompAddr = "127.0.0.1:61613"
)

// devHint is the hint logged with a connection failure to one of addrs
// (host:port, or URLs such as http://127.0.0.1:2379) when micro-gw dev
// serves that address by default; empty otherwise.
func devHint(devAddr string, addrs ...string) string {
	_, devPort, _ := net.SplitHostPort(devAddr)
	for _, a := range addrs {
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			a = u.Host
		}
		host, port, err := net.SplitHostPort(a)
		if err != nil || port != devPort {
			continue
		}
		if loopback.Host(host) {
			return "micro-gw dev serves " + devAddr + " by default: is it running?"
		}
	}
	return ""
}

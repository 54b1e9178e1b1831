// Package loopback says whether a host names this machine: where plain
// http is allowed (status lists, SSF endpoints) and where a `micro-gw dev`
// default is recognised.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a URL's Hostname, without port or brackets)
// is localhost, in any case, or a loopback IP address (127.0.0.0/8, ::1).
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

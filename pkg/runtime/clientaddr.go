package runtime

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the one place that decides which address a request comes
// from, for everything of the gateway that acts on it: the access log today,
// the ip and iprange blocking conditions (docs/configuration.md) later. Use
// it; do not read RemoteAddr or X-Forwarded-For elsewhere.
//
// The client address is the connection's peer (remoteAddr, "ip:port" as
// net/http gives it). When that peer is one of the trusted proxies
// ([throttlingConfig] trustedProxies), the proxies' X-Forwarded-For chain
// is read from the right, the end each proxy appends to: the first address
// outside the trusted ranges is the client. Trusting only a chain that a
// trusted peer hands over is what keeps a client from naming itself: whatever
// it writes into X-Forwarded-For stays to the left of what the proxies
// append. When the walk meets an entry that is no address ("unknown", a
// name, garbage), nothing further left can be trusted, and the last trusted
// address before it is the client; when every entry is trusted, the request
// came from inside the trusted ranges and the leftmost one is the client.
//
// forwardedFor holds the request's X-Forwarded-For field lines in order;
// their values are joined as one comma list (RFC 9110 5.3). An entry may
// carry a port ("203.0.113.7:4711", "[2001:db8::7]:4711"), as some proxies
// write it. IPv4-mapped IPv6 addresses are compared and returned as IPv4.
// The zero Addr means remoteAddr held no address, which net/http never gives.
func clientAddr(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHostAddr(remoteAddr)
	if !ok || !inRanges(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		list := forwardedFor[i]
		for list != "" {
			entry := list
			if c := strings.LastIndexByte(list, ','); c >= 0 {
				entry, list = list[c+1:], list[:c]
			} else {
				list = ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue // an empty list element, as in "a, , b"
			}
			a, ok := parseHostAddr(entry)
			if !ok {
				return client
			}
			client = a
			if !inRanges(a, trusted) {
				return a
			}
		}
	}
	return client
}

// clientAddr is the client address of r, with the configured trusted
// proxies (see the function clientAddr).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	return clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.trustedProxies)
}

// parseHostAddr reads an address with or without a port: 192.0.2.1,
// 192.0.2.1:80, 2001:db8::1, [2001:db8::1] or [2001:db8::1]:80. A zone is
// dropped and an IPv4-mapped address unmapped.
func parseHostAddr(s string) (netip.Addr, bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := s[end+1:]; rest != "" && !validPort(rest) {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a.WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	// An IPv4 address with a port; an IPv6 one with a port needs brackets.
	if c := strings.LastIndexByte(s, ':'); c > 0 && validPort(s[c:]) {
		if a, err := netip.ParseAddr(s[:c]); err == nil && a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// validPort reports whether s is ":" followed by 1 to 5 digits.
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func inRanges(a netip.Addr, ranges []netip.Prefix) bool {
	for _, p := range ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

package runtime

import (
	"net/netip"
	"strings"
	"testing"
)

var testTrusted = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}

func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no trusted proxies: the peer", "203.0.113.7:4711", []string{"198.51.100.1"}, nil, "203.0.113.7"},
		{"an untrusted peer's header is ignored", "203.0.113.7:4711", []string{"198.51.100.1"}, testTrusted, "203.0.113.7"},
		{"a trusted peer: rightmost untrusted", "10.0.0.2:80", []string{"192.0.2.66, 198.51.100.1, 10.9.9.9"}, testTrusted, "198.51.100.1"},
		{"field lines joined in order", "10.0.0.2:80", []string{"192.0.2.66", "198.51.100.1", "10.9.9.9"}, testTrusted, "198.51.100.1"},
		{"a client cannot name itself", "10.0.0.2:80", []string{"10.1.1.1, 203.0.113.7"}, testTrusted, "203.0.113.7"},
		{"every entry trusted: the leftmost", "10.0.0.2:80", []string{"10.0.0.9, 10.0.0.8"}, testTrusted, "10.0.0.9"},
		{"no header from a trusted peer", "10.0.0.2:80", nil, testTrusted, "10.0.0.2"},
		{"garbage stops the walk", "10.0.0.2:80", []string{"198.51.100.1, unknown, 10.0.0.3"}, testTrusted, "10.0.0.3"},
		{"empty elements skipped", "10.0.0.2:80", []string{" , 198.51.100.1 ,, "}, testTrusted, "198.51.100.1"},
		{"ports and brackets", "[2001:db8:1::5]:443", []string{"[2001:db8:2::1]:5000, 10.0.0.1:8080"}, testTrusted, "2001:db8:2::1"},
		{"IPv4 with a port", "10.0.0.2:80", []string{"198.51.100.1:999"}, testTrusted, "198.51.100.1"},
		{"mapped addresses unmapped", "[::ffff:10.0.0.2]:80", []string{"::ffff:198.51.100.1"}, testTrusted, "198.51.100.1"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
		{"IPv6 without brackets", "10.0.0.2:80", []string{"2001:db8:9::1"}, testTrusted, "2001:db8:9::1"},
		{"bad port", "10.0.0.2:80", []string{"198.51.100.1:99999999"}, testTrusted, "10.0.0.2"},
		{"no address", "", nil, testTrusted, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientAddr(tc.remote, tc.xff, tc.trusted); got.String() != tc.want {
				t.Errorf("clientAddr(%q, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}

// FuzzClientAddr: any X-Forwarded-For from anyone gives an address without
// a panic; an untrusted peer is always the client, whatever it writes; and
// an address to the right of the chosen one is never outside the trusted
// ranges (or the client would be that one).
func FuzzClientAddr(f *testing.F) {
	for _, seed := range [][2]string{
		{"10.0.0.2:80", "192.0.2.66, 198.51.100.1, 10.9.9.9"},
		{"[2001:db8:1::5]:443", "[2001:db8:2::1]:5000, 10.0.0.1:8080"},
		{"203.0.113.7:1", "unknown, ,,[::1"},
		{"10.0.0.2:80", "::ffff:10.0.0.1, 10.0.0.5%eth0, 1.2.3.4:"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := clientAddr(remote, []string{xff}, testTrusted)
		peer, ok := parseHostAddr(remote)
		if !ok {
			if got.IsValid() {
				t.Fatalf("no peer address in %q, yet %s", remote, got)
			}
			return
		}
		if !got.IsValid() {
			t.Fatalf("peer %s, no client address", peer)
		}
		if !inRanges(peer, testTrusted) && got != peer {
			t.Fatalf("untrusted peer %s, client %s", peer, got)
		}
		if got.Is4In6() || got.Zone() != "" {
			t.Fatalf("client %s is not in its plain form", got)
		}
		// Walk from the right as a user would read the chain: every entry
		// right of the client is trusted.
		entries := append(strings.Split(xff, ","), remote)
		for i := len(entries) - 1; i >= 0; i-- {
			e := strings.TrimSpace(entries[i])
			if e == "" {
				continue
			}
			a, ok := parseHostAddr(e)
			if !ok || a == got {
				return
			}
			if !inRanges(a, testTrusted) {
				t.Fatalf("%s is right of the client %s and not trusted (chain %q, peer %q)", a, got, xff, remote)
			}
		}
	})
}

// Package throttle counts requests against the quotas of throttling
// policies (docs/traffic.md): a Local store in the gateway's memory, a Redis
// store that a fleet of gateways shares, and Global, which counts in Redis
// and falls back to its own Local store while Redis is away.
//
// Every counter is a window that opens with the first request it counts:
// Limit requests in quick succession pass, the next is refused, and once
// Window has passed since the first, requests pass again (a new window opens
// with the next one). A counter is two numbers, the end of its window and
// its count, and a request costs one lookup per counter.
package throttle

import (
	"context"
	"strings"
	"time"
)

// Counter is one quota a request counts against.
type Counter struct {
	// Key names the counter: the same key counts the same requests, on
	// every gateway that shares a Redis. Make it with Key.
	Key    string
	Limit  int64
	Window time.Duration
}

// Store counts requests against their counters.
type Store interface {
	// Take counts one request against every counter of cs, unless one of
	// them is used up: then it counts it against none and returns that
	// counter's index and how long until its window ends. refused is -1
	// when the request is admitted.
	Take(ctx context.Context, cs []Counter) (refused int, retry time.Duration)
}

// maxKeyLength bounds a counter's key; longer parts (a subject or an
// application id of a few KB) are cut, with a hash of the whole part.
const maxPartLength = 200

// Key joins the parts of a counter's name (its level, its policy and the
// identities it counts) into a key: parts are separated by ':', and a ':' or
// '%' inside a part is escaped, so that two different lists of parts never
// make the same key.
func Key(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(':')
		}
		if len(p) > maxPartLength {
			p = p[:maxPartLength] + "~" + hashHex(p)
		}
		if !strings.ContainsAny(p, ":%") {
			b.WriteString(p)
			continue
		}
		for j := 0; j < len(p); j++ {
			switch c := p[j]; c {
			case ':':
				b.WriteString("%3A")
			case '%':
				b.WriteString("%25")
			default:
				b.WriteByte(c)
			}
		}
	}
	return b.String()
}

// retryAfter rounds d up to whole seconds, at least one: what a client may
// wait before it tries again (Retry-After).
func retryAfter(d time.Duration) time.Duration {
	if d < time.Second {
		return time.Second
	}
	return (d + time.Second - 1) / time.Second * time.Second
}

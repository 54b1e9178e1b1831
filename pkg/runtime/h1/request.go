package h1

import (
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// HeadEnd returns the length of the request head at the start of b, up to
// and including the empty line that ends it, or -1 when b holds no whole
// head yet. The end is found as net/http finds it: an empty line after a
// line end, either of which may be a bare LF (which ParseRequest then does
// not take).
func HeadEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// ParseRequest fills r from head, a whole request head as HeadEnd delimits
// it, when it is a request the gateway's own server is sure of: an
// HTTP/1.1 request line with an origin-form target, CRLF line ends, field
// names that are tokens and values of visible ASCII, space and tab, one
// valid, non-empty Host, at most one Content-Length of digits, no Transfer-Encoding,
// Expect or Upgrade (nor a Connection naming upgrade), nothing folded.
// Every request it takes, http.ReadRequest takes too with the same fields
// (FuzzParseRequest holds it to that); anything else returns false and is
// left to net/http, which answers it as it always has (docs/runtime.md,
// "Listeners"). r.Header is hdr, cleared and filled; the strings are
// slices of head. As http.Server does, the Host field is r.Host and not in
// r.Header.
func ParseRequest(head string, r *http.Request, hdr http.Header) bool {
	line, rest, ok := cutCRLF(head)
	if !ok {
		return false
	}
	sp := strings.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	method, line := line[:sp], line[sp+1:]
	for i := 0; i < len(method); i++ {
		if !isTokenChar(method[i]) {
			return false
		}
	}
	if method == http.MethodConnect || method == "PRI" {
		return false
	}
	sp = strings.IndexByte(line, ' ')
	if sp <= 0 || line[sp+1:] != "HTTP/1.1" {
		return false
	}
	target := line[:sp]
	u, ok := originForm(target)
	if !ok {
		return false
	}
	clear(hdr)
	var host, length string
	hosts, lengths := 0, 0
	closeConn := false
	for {
		line, rest, ok = cutCRLF(rest)
		if !ok {
			return false
		}
		if line == "" {
			break
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name := line[:colon]
		canonical := true
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !isTokenChar(c) {
				return false
			}
			if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
				canonical = false
			}
			upper = c == '-'
		}
		if !canonical {
			name = textproto.CanonicalMIMEHeaderKey(name)
		}
		value := line[colon+1:]
		for i := 0; i < len(value); i++ {
			if c := value[i]; c < ' ' && c != '\t' || c >= 0x7f {
				return false
			}
		}
		value = textproto.TrimString(value)
		switch name {
		case "Host":
			hosts++
			host = value
			continue
		case "Content-Length":
			lengths++
			length = value
		case "Transfer-Encoding", "Expect", "Upgrade":
			return false
		case "Connection":
			if httpguts.HeaderValuesContainsToken([]string{value}, "upgrade") {
				return false
			}
			if httpguts.HeaderValuesContainsToken([]string{value}, "close") {
				closeConn = true
			}
		}
		hdr[name] = append(hdr[name], value)
	}
	if rest != "" || hosts != 1 || host == "" || !httpguts.ValidHostHeader(host) || lengths > 1 {
		return false
	}
	n := int64(0)
	if lengths == 1 {
		if n, ok = digits(length); !ok {
			return false
		}
	}
	// net/http reads Pragma: no-cache as Cache-Control: no-cache when
	// there is no Cache-Control (RFC 7234 5.4).
	if p := hdr["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := hdr["Cache-Control"]; !ok {
			hdr["Cache-Control"] = []string{"no-cache"}
		}
	}
	r.Method = method
	r.URL = u
	r.RequestURI = target
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/1.1", 1, 1
	r.Header = hdr
	r.Host = host
	r.ContentLength = n
	r.Close = closeConn
	return true
}

// cutCRLF cuts the line before the first CRLF of s; a bare CR or LF
// before it is not a line end it takes (false).
func cutCRLF(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i <= 0 || s[i-1] != '\r' {
		return "", "", false
	}
	line = s[:i-1]
	if strings.IndexByte(line, '\r') >= 0 {
		return "", "", false
	}
	return line, s[i+1:], true
}

// originForm parses an origin-form request target (RFC 9112 3.2.1) as
// url.ParseRequestURI does: a path of the characters that need no escape
// is taken as it is, without the parser, anything else goes through it.
// Absolute-form, authority-form and "*" are not origin-form (false).
func originForm(target string) (*url.URL, bool) {
	if target == "" || target[0] != '/' {
		return nil, false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	plain := true
	for i := 0; i < len(path) && plain; i++ {
		plain = plainPathChar(path[i])
	}
	for i := 0; i < len(query) && plain; i++ {
		c := query[i]
		plain = c > ' ' && c < 0x7f && c != '#'
	}
	if !plain {
		u, err := url.ParseRequestURI(target)
		return u, err == nil
	}
	u := &url.URL{Path: path, RawQuery: query}
	if hasQuery && query == "" && strings.Count(target, "?") == 1 {
		u.ForceQuery = true
	}
	return u, true
}

// plainPathChar reports whether c stands for itself in a URL path: what
// url.URL.EscapedPath would not escape.
func plainPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return true
	}
	return false
}

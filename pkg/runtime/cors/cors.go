// Package cors answers the CORS protocol of the Fetch standard
// (https://fetch.spec.whatwg.org/#http-cors-protocol) for one API: the
// preflight a browser sends before a cross-origin request it may not send
// unasked, and the headers that let a page read any other response. The
// settings are WSO2's x-wso2-cors fields; where WSO2 and the Fetch standard
// differ, this package follows the standard (docs/runtime.md, "CORS").
package cors

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// Config is one API's CORS settings: x-wso2-cors, or [corsConfig] of
// micro-gw.conf for an API without it.
type Config struct {
	// AllowOrigins are the origins whose pages may read the API's
	// responses (accessControlAllowOrigins); "*" allows every origin.
	AllowOrigins []string
	// AllowCredentials lets those pages send cookies and HTTP
	// authentication (accessControlAllowCredentials).
	AllowCredentials bool
	// AllowHeaders are the request headers a page may send
	// (accessControlAllowHeaders); "*" allows any.
	AllowHeaders []string
	// AllowMethods are the methods a page may use
	// (accessControlAllowMethods); "*" allows any.
	AllowMethods []string
}

// WSO2's defaults for the fields an x-wso2-cors or [corsConfig] leaves out:
// API Manager's own CORS configuration, less Access-Control-Allow-Origin,
// which it listed among the request headers though it is a response header.
var (
	DefaultAllowOrigins = []string{"*"}
	DefaultAllowHeaders = []string{"authorization", "Content-Type", "SOAPAction", "apikey"}
	DefaultAllowMethods = []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}
)

// The headers of the protocol.
const (
	hOrigin           = "Origin"
	hRequestMethod    = "Access-Control-Request-Method"
	hRequestHeaders   = "Access-Control-Request-Headers"
	hAllowOrigin      = "Access-Control-Allow-Origin"
	hAllowCredentials = "Access-Control-Allow-Credentials"
	hAllowMethods     = "Access-Control-Allow-Methods"
	hAllowHeaders     = "Access-Control-Allow-Headers"
	hMaxAge           = "Access-Control-Max-Age"
	hVary             = "Vary"
)

// Policy is a Config compiled for the request path: origins and header
// names by their case-insensitive form, the response header values made
// once. It is read-only.
type Policy struct {
	anyOrigin   bool
	origins     map[string]bool // lower case
	credentials bool

	anyMethod bool
	methods   map[string]bool // upper case
	methodsV  string          // the Access-Control-Allow-Methods value

	anyHeader bool
	headers   map[string]bool // lower case
	headersV  string          // the Access-Control-Allow-Headers value
}

// New compiles c. Its origins must pass CheckOrigin, its methods and header
// names must be tokens: Check says which does not.
func New(c Config) (*Policy, error) {
	if err := Check(c); err != nil {
		return nil, err
	}
	p := &Policy{origins: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		n, _ := CheckOrigin(o)
		p.origins[strings.ToLower(n)] = true
	}
	var methods, headers []string
	for _, m := range c.AllowMethods {
		m = strings.ToUpper(m)
		if m == "*" {
			p.anyMethod = true
		} else if !p.methods[m] {
			p.methods[m] = true
			methods = append(methods, m)
		}
	}
	for _, h := range c.AllowHeaders {
		if h == "*" {
			p.anyHeader = true
		} else if l := strings.ToLower(h); !p.headers[l] {
			p.headers[l] = true
			headers = append(headers, h)
		}
	}
	p.methodsV, p.headersV = strings.Join(methods, ", "), strings.Join(headers, ", ")
	return p, nil
}

// Check reports the first field of c that is not what a CORS setting may
// hold: an origin CheckOrigin refuses, a method or header name that is not
// an HTTP token.
func Check(c Config) error {
	for i, o := range c.AllowOrigins {
		if _, err := CheckOrigin(o); err != nil {
			return &FieldError{Field: "accessControlAllowOrigins", Index: i, Err: err}
		}
	}
	for i, m := range c.AllowMethods {
		if m != "*" && !httpguts.ValidHeaderFieldName(m) {
			return &FieldError{Field: "accessControlAllowMethods", Index: i, Err: fmt.Errorf("%q is not an HTTP method", m)}
		}
	}
	for i, h := range c.AllowHeaders {
		if h != "*" && !httpguts.ValidHeaderFieldName(h) {
			return &FieldError{Field: "accessControlAllowHeaders", Index: i, Err: fmt.Errorf("%q is not an HTTP header name", h)}
		}
	}
	return nil
}

// FieldError is a bad entry of one of a Config's lists, named by its WSO2
// field and index.
type FieldError struct {
	Field string
	Index int
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s[%d]: %v", e.Field, e.Index, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// CheckOrigin reads an allowed origin as a browser serializes one in the
// Origin header: scheme://host[:port], the scheme and host in lower case and
// the scheme's default port left out (https://App.example:443/ is
// https://app.example). "*" and "null" (the opaque origin of a sandboxed
// frame or a file) are taken as written. A path, query, fragment or user
// name is refused: no Origin header carries one.
func CheckOrigin(s string) (string, error) {
	if s == "*" || s == "null" {
		return s, nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%q is not an origin such as https://app.example.com (or \"*\")", s)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q is not an origin: an origin is scheme://host[:port], without a path, query or user", s)
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// IsPreflight reports whether r is a CORS preflight: OPTIONS with an Origin
// and an Access-Control-Request-Method. A plain OPTIONS is an ordinary
// request of the API.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get(hOrigin) != "" && r.Header.Get(hRequestMethod) != ""
}

// Preflight writes the headers of the answer to the preflight r (see
// IsPreflight) into h and reports whether the request it announces is
// allowed: its origin, its method and every header it names. A refused one
// gets no Access-Control-Allow-* header, which the browser takes as "no".
func (p *Policy) Preflight(h http.Header, r *http.Request) bool {
	h.Set(hVary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get(hOrigin)
	method := r.Header.Get(hRequestMethod)
	asked := r.Header.Values(hRequestHeaders)
	if !p.allowsOrigin(origin) || !p.allowsMethod(method) || !p.allowsHeaders(asked) {
		return false
	}
	h.Set(hAllowOrigin, p.allowOrigin(origin))
	if p.credentials {
		h.Set(hAllowCredentials, "true")
	}
	// With credentials a browser takes "*" literally (Fetch, "CORS protocol
	// and credentials"), so a wildcard is answered with what was asked.
	switch {
	case p.anyMethod:
		h.Set(hAllowMethods, method)
	case p.methodsV != "":
		h.Set(hAllowMethods, p.methodsV)
	}
	switch {
	case p.anyHeader && len(asked) > 0:
		h.Set(hAllowHeaders, strings.Join(asked, ", "))
	case !p.anyHeader && p.headersV != "":
		h.Set(hAllowHeaders, p.headersV)
	}
	return true
}

// Response sets the CORS headers of any response other than a preflight's,
// to a request from origin ("" for none): Access-Control-Allow-Origin (and
// -Credentials) when the origin is allowed, and Vary: Origin always, since
// the answer depends on it. The backend's own Access-Control-Allow-* and
// -Max-Age headers are dropped first: the gateway answers for the API's
// CORS, and two Access-Control-Allow-Origin values make a browser refuse
// the response. Access-Control-Expose-Headers is the backend's to send.
func (p *Policy) Response(h http.Header, origin string) {
	for _, k := range []string{hAllowOrigin, hAllowCredentials, hAllowMethods, hAllowHeaders, hMaxAge} {
		delete(h, k)
	}
	addVary(h, "Origin")
	if origin == "" || !p.allowsOrigin(origin) {
		return
	}
	h.Set(hAllowOrigin, p.allowOrigin(origin))
	if p.credentials {
		h.Set(hAllowCredentials, "true")
	}
}

// allowsOrigin: listed, or any origin but the opaque "null" when the list
// holds "*" ("null" must be listed: it is the origin of any sandboxed frame
// or local file).
func (p *Policy) allowsOrigin(origin string) bool {
	if p.origins[strings.ToLower(origin)] {
		return true
	}
	return p.anyOrigin && origin != "null"
}

// allowOrigin is the Access-Control-Allow-Origin value for an allowed
// origin: "*" only when any origin is allowed without credentials (a
// browser refuses "*" with credentials), else the origin as sent.
func (p *Policy) allowOrigin(origin string) string {
	if p.anyOrigin && !p.credentials {
		return "*"
	}
	return origin
}

func (p *Policy) allowsMethod(m string) bool {
	return p.anyMethod || p.methods[strings.ToUpper(m)]
}

// allowsHeaders checks every name of the Access-Control-Request-Headers
// values (a browser sends one comma list, lower case).
func (p *Policy) allowsHeaders(values []string) bool {
	if p.anyHeader {
		return true
	}
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && !p.headers[strings.ToLower(name)] {
				return false
			}
		}
	}
	return true
}

// addVary adds name to the Vary header unless it is there already.
func addVary(h http.Header, name string) {
	for _, v := range h.Values(hVary) {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add(hVary, name)
}

package runtime

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
)

// route is one compiled resource: what the request path needs to know once
// the request has matched it.
type route struct {
	api      *API
	resource *Resource
	// template is the API's base path and the resource's path template, the
	// bounded "resource" label of the metrics.
	template string
	// baseSegments is how many path segments the base path takes, stripped
	// before proxying.
	baseSegments int
	production   *upstream
	metrics      *routeMetrics
	sandbox      *upstream
	// settings are the API's, shared by its routes.
	settings *apiSettings
	// limit is the route's resource counter (throttling), nil for none.
	limit *routeLimit
	// auth is the resource's security, compiled; nil when unsecured.
	auth *routeAuth
}

// node is one path segment of the route tree. Matching a request walks the
// tree segment by segment: literal children first, then segments with a
// parameter and literal text around it, then whole-segment parameters.
type node struct {
	literal  map[string]*node
	patterns []*patternChild
	param    *node
	// methods holds the routes that end at this node, by upper-case method.
	methods map[string]*route
	// allow is the Allow header of this node (its methods, HEAD with GET).
	allow string
	// first is the first route added here: the API of a 405.
	first *route
}

// patternChild is a segment with literal text around its parameters, such
// as "{name}.json" or "{base}...{head}": literals[0] before the first
// parameter, literals[i] between parameter i and i+1, the last after the
// last parameter. Each parameter matches one or more bytes.
type patternChild struct {
	literals []string
	next     *node
}

// parsePattern splits a template segment into its literals. Two parameters
// must have text between them, or no request could say where one ends.
func parsePattern(seg string) ([]string, error) {
	var lits []string
	rest := seg
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return nil, fmt.Errorf("segment %q: unbalanced }", seg)
			}
			return append(lits, rest), nil
		}
		closing := strings.IndexByte(rest, '}')
		if closing < open+2 || strings.IndexByte(rest[open+1:closing], '{') >= 0 {
			return nil, fmt.Errorf("segment %q: a parameter is {name}", seg)
		}
		if len(lits) > 0 && open == 0 {
			return nil, fmt.Errorf("segment %q: two parameters need text between them", seg)
		}
		lits = append(lits, rest[:open])
		rest = rest[closing+1:]
	}
}

// literalLen is how much literal text the pattern holds: the more, the more
// specific, and the earlier it is tried.
func (pc *patternChild) literalLen() int {
	n := 0
	for _, l := range pc.literals {
		n += len(l)
	}
	return n
}

// matches reports whether seg fits the pattern, each parameter taking at
// least one byte. Taking each inner literal at its leftmost place after the
// previous one is enough: if any placement fits, that one does too.
func (pc *patternChild) matches(seg string) bool {
	lits := pc.literals
	first, last := lits[0], lits[len(lits)-1]
	if len(seg) < pc.literalLen()+len(lits)-1 || !strings.HasPrefix(seg, first) || !strings.HasSuffix(seg, last) {
		return false
	}
	cur, end := len(first), len(seg)-len(last)
	for _, l := range lits[1 : len(lits)-1] {
		i := strings.Index(seg[cur+1:end], l)
		if i < 0 {
			return false
		}
		cur += 1 + i + len(l)
	}
	return cur < end
}

// router is the compiled route table of a Spec; it is read-only once built.
type router struct {
	root *node
	// encodedSlash lets a path parameter's value hold an encoded slash
	// (listenerConfig.allowEncodedSlash); see match.
	encodedSlash bool
	// apis are the settings of every API, for apiOf.
	apis []*apiSettings
}

// matchResult is the outcome of a lookup.
type matchResult struct {
	route *route
	// allow is set when the path matched a resource but the method did not;
	// near is then a route of that resource.
	allow string
	near  *route
}

func newNode() *node { return &node{} }

// eachRoute makes the route of every resource of the spec, lets fill complete
// it (upstreams, metrics), and adds it to rt. The first error stops it: a
// base path that is not absolute, or two resources the router cannot tell
// apart.
func (s *Spec) eachRoute(rt *router, fill func(*route) error) error {
	for i := range s.APIs {
		api := &s.APIs[i]
		if !strings.HasPrefix(api.BasePath, "/") {
			return fmt.Errorf("api %s (%s): base path %q must start with /", api.Title, api.Source, api.BasePath)
		}
		for j := range api.Resources {
			res := &api.Resources[j]
			if err := res.checkSecurity(); err != nil {
				return fmt.Errorf("api %s (%s): %s %s: %w", api.Title, api.Source, res.Method, res.Path, err)
			}
			r := newRoute(api, res)
			if fill != nil {
				if err := fill(r); err != nil {
					return err
				}
			}
			if err := rt.add(api.BasePath, res.Path, strings.ToUpper(res.Method), r); err != nil {
				return fmt.Errorf("api %s (%s): %w", api.Title, api.Source, err)
			}
		}
	}
	return nil
}

// newRoute is the route of resource res of api, before fill completes it.
func newRoute(api *API, res *Resource) *route {
	r := &route{api: api, resource: res, template: path.Join(api.BasePath, res.Path)}
	if strings.HasSuffix(res.Path, "/") && res.Path != "/" {
		r.template += "/"
	}
	return r
}

// CheckRoutes reports what would stop the gateway from compiling the spec's
// routes at start: chiefly the same method on two paths that the router
// cannot tell apart (/pets/{id} and /pets/{name}, /pets and /pets/, or a base
// path and a resource path that add up to another API's route). micro-gw
// build calls it, so that such definitions fail the build and not the start.
func (s *Spec) CheckRoutes() error {
	return s.eachRoute(&router{root: newNode()}, nil)
}

// add compiles one resource into the tree.
func (rt *router) add(basePath, path, method string, r *route) error {
	segs := splitTemplate(basePath)
	r.baseSegments = len(segs)
	segs = append(segs, splitTemplate(path)...)
	n := rt.root
	for _, seg := range segs {
		switch {
		case !strings.ContainsAny(seg, "{}"):
			if n.literal == nil {
				n.literal = map[string]*node{}
			}
			lit, err := url.PathUnescape(seg)
			if err != nil {
				return fmt.Errorf("path %q: %w", path, err)
			}
			next, ok := n.literal[lit]
			if !ok {
				next = newNode()
				n.literal[lit] = next
			}
			n = next
		case len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && strings.Count(seg, "{") == 1 && strings.Count(seg, "}") == 1:
			if n.param == nil {
				n.param = newNode()
			}
			n = n.param
		default:
			lits, err := parsePattern(seg)
			if err != nil {
				return fmt.Errorf("path %q: %w", path, err)
			}
			var pc *patternChild
			for _, p := range n.patterns {
				if slices.Equal(p.literals, lits) {
					pc = p
				}
			}
			if pc == nil {
				pc = &patternChild{literals: lits, next: newNode()}
				n.patterns = append(n.patterns, pc)
				sort.SliceStable(n.patterns, func(i, j int) bool {
					return n.patterns[i].literalLen() > n.patterns[j].literalLen()
				})
			}
			n = pc.next
		}
	}
	if n.methods == nil {
		n.methods = map[string]*route{}
	}
	if prev, dup := n.methods[method]; dup {
		return fmt.Errorf("%s %s is defined twice (in %s and %s)", method, r.template, prev.api.Source, r.api.Source)
	}
	n.methods[method] = r
	n.allow = allowHeader(n.methods)
	if n.first == nil {
		n.first = r
	}
	return nil
}

func allowHeader(methods map[string]*route) string {
	ms := make([]string, 0, len(methods)+1)
	for m := range methods {
		ms = append(ms, m)
	}
	if _, get := methods[http.MethodGet]; get {
		if _, head := methods[http.MethodHead]; !head {
			ms = append(ms, http.MethodHead)
		}
	}
	sort.Strings(ms)
	return strings.Join(ms, ", ")
}

// splitTemplate splits "/a/{b}/c" into its segments; "/" and "" have none.
func splitTemplate(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match looks up method and the escaped request path (r.URL.EscapedPath()).
// Segments are compared after percent-decoding each one on its own, so an
// encoded slash never splits a segment. A path with an empty segment ("//"),
// a "." or ".." segment, or a segment that decodes to a slash, a backslash or
// a NUL matches nothing: nothing that a backend could read as a different
// path is ever proxied. One trailing slash is ignored. HEAD is served by the
// GET route when the resource has no HEAD of its own.
//
// With encodedSlash, a segment holding encoded slashes may be a parameter's
// value (never a literal), when what lies between its slashes is neither
// empty nor a dot segment. Since many backends decode %2F before routing,
// such a request is proxied only when the path decoded that way matches
// no other resource of the gateway: /pet/1%2Fsecret does not reach a
// backend as /pet/1/secret under the scopes of /pet/{petId}.
func (rt *router) match(method, escapedPath string) matchResult {
	res := rt.matchSegments(method, escapedPath)
	if res.route == nil || !rt.encodedSlash || !hasEncodedSlash(escapedPath) {
		return res
	}
	decoded, err := url.PathUnescape(escapedPath)
	if err != nil {
		return matchResult{}
	}
	if other := rt.matchSegments(method, decoded); other.route != nil && other.route != res.route || other.allow != "" {
		return matchResult{}
	}
	return res
}

// hasEncodedSlash reports whether p holds %2F (in either case).
func hasEncodedSlash(p string) bool {
	for {
		i := strings.IndexByte(p, '%')
		if i < 0 || i+2 >= len(p) {
			return false
		}
		if p[i+1] == '2' && (p[i+2] == 'F' || p[i+2] == 'f') {
			return true
		}
		p = p[i+1:]
	}
}

// matchSegments is match without the check of encoded slashes.
func (rt *router) matchSegments(method, escapedPath string) matchResult {
	if escapedPath == "" || escapedPath[0] != '/' {
		return matchResult{}
	}
	p := escapedPath[1:]
	if strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
		if p == "" { // "//"
			return matchResult{}
		}
	}
	var res matchResult
	rt.walk(rt.root, p, p == "", method, &res)
	return res
}

// walk matches the rest of the path p (no leading slash; done when the path is
// consumed) below n. It returns true when a route with the method was found;
// on the way it records the first node whose path matched for a 405.
func (rt *router) walk(n *node, p string, done bool, method string, res *matchResult) bool {
	if done {
		if n.methods == nil {
			return false
		}
		if r, ok := n.methods[method]; ok {
			res.route, res.allow, res.near = r, "", nil
			return true
		}
		if method == http.MethodHead {
			if r, ok := n.methods[http.MethodGet]; ok {
				res.route, res.allow, res.near = r, "", nil
				return true
			}
		}
		if res.allow == "" {
			res.allow, res.near = n.allow, n.first
		}
		return false
	}
	seg, rest, more := strings.Cut(p, "/")
	if seg == "" {
		return false
	}
	slashed := false // a parameter's value with encoded slashes
	if strings.IndexByte(seg, '%') >= 0 {
		dec, err := url.PathUnescape(seg)
		if err != nil || strings.ContainsAny(dec, "\\\x00") {
			return false
		}
		if strings.IndexByte(dec, '/') >= 0 {
			if !rt.encodedSlash || !slashedValueOK(dec) {
				return false
			}
			slashed = true
		}
		seg = dec
	} else if strings.IndexByte(seg, '\\') >= 0 {
		return false
	}
	if seg == "." || seg == ".." {
		return false
	}
	if next, ok := n.literal[seg]; ok && !slashed && rt.walk(next, rest, !more, method, res) {
		return true
	}
	for _, pc := range n.patterns {
		if pc.matches(seg) && rt.walk(pc.next, rest, !more, method, res) {
			return true
		}
	}
	if n.param != nil && rt.walk(n.param, rest, !more, method, res) {
		return true
	}
	return false
}

// slashedValueOK reports whether a parameter's decoded value that holds
// slashes reads as plain path segments: none empty, none "." or "..".
func slashedValueOK(v string) bool {
	for part := range strings.SplitSeq(v, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// backendPath is the escaped path the backend receives after the endpoint
// URL's own path: the request path without the route's base path segments
// (a trailing slash is kept as the client sent it).
func backendPath(escapedPath string, baseSegments int) string {
	p := escapedPath
	for i := 0; i < baseSegments; i++ {
		j := strings.IndexByte(p[1:], '/')
		if j < 0 {
			return "/"
		}
		p = p[j+1:]
	}
	return p
}

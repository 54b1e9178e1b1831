package codegen

import (
	"errors"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// methodOrder is the order of an OpenAPI path item's operations, so that
// generated code is the same from build to build.
var methodOrder = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// API extracts the route table of the definition (docs/build.md):
// base path, endpoints, security and scopes of every operation. Faults are
// *DefinitionError values with the line and JSON path of the extension.
func (d *Definition) API() (runtime.API, error) {
	api, err := extractAPI(d.Doc)
	if err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			return runtime.API{}, d.wrap(pe.path, pe.err)
		}
		return runtime.API{}, d.wrap(nil, err)
	}
	api.Source = filepath.Base(d.File)
	return api, nil
}

// extractAPI is API without the file: errors are *pathError values.
func extractAPI(doc *openapi3.T) (runtime.API, error) {
	var api runtime.API
	if doc.Info != nil {
		api.Title, api.Version = doc.Info.Title, doc.Info.Version
	}
	var err error
	if api.BasePath, err = basePath(doc); err != nil {
		return api, err
	}
	x := apiLevel{doc: doc}
	if x.named, err = namedEndpoints(doc.Extensions); err != nil {
		return api, err
	}
	if api.Production, err = endpointExt(doc.Extensions, extProduction, nil, x.named); err != nil {
		return api, err
	}
	if api.Production == nil {
		api.Production = serversEndpoint(doc.Servers)
	}
	if api.Sandbox, err = endpointExt(doc.Extensions, extSandbox, nil, x.named); err != nil {
		return api, err
	}
	if err := behaviour(doc.Extensions, &api); err != nil {
		return api, err
	}
	if x.insecure, _, err = boolExt(doc.Extensions, extDisableSecurity, nil); err != nil {
		return api, err
	}
	if api.ThrottlingTier, _, err = stringExt(doc.Extensions, extThrottlingTier, nil); err != nil {
		return api, err
	}
	if x.sec, err = readAPISecurity(doc.Extensions); err != nil {
		return api, err
	}
	if doc.Paths == nil {
		return api, nil
	}

	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, p := range paths {
		// Its template was checked by validate (checkPathTemplate).
		item := doc.Paths.Value(p)
		for _, method := range methodOrder {
			if op := item.GetOperation(method); op != nil {
				r, err := x.resource(p, method, op)
				if err != nil {
					return api, err
				}
				api.Resources = append(api.Resources, r)
			}
		}
	}
	return api, nil
}

// apiLevel is what an operation inherits from its API.
type apiLevel struct {
	doc      *openapi3.T
	named    map[string]*runtime.Endpoint
	sec      apiSecurity
	insecure bool
}

// resource extracts one operation: the API's settings, overridden by the
// operation's extensions and security.
func (x apiLevel) resource(path, method string, op *openapi3.Operation) (runtime.Resource, error) {
	at := jsonPath{"paths", path, strings.ToLower(method)}
	r := runtime.Resource{
		Method:      method,
		Path:        path,
		OperationID: op.OperationID,
		Secured:     !x.insecure,
	}
	insecure, set, err := boolExt(op.Extensions, extDisableSecurity, at)
	if err != nil {
		return r, err
	}
	if set {
		r.Secured = !insecure
	}
	if op.Security != nil && len(*op.Security) == 0 {
		r.Secured = false // an explicit `security: []`
	}
	if r.Secured {
		if r.Security, err = x.security(op, at); err != nil {
			return r, err
		}
		// One bearer token is what a Resource without Security requires:
		// the spec says so in its shorter form.
		if s := r.Security; len(s) == 1 && len(s[0].Schemes) == 1 && s[0].Schemes[0].Kind == runtime.SchemeOAuth2 {
			r.Scopes, r.Security = s[0].Schemes[0].Scopes, nil
		}
	}
	if r.ThrottlingTier, _, err = stringExt(op.Extensions, extThrottlingTier, at); err != nil {
		return r, err
	}
	if r.Production, err = endpointExt(op.Extensions, extProduction, at, x.named); err != nil {
		return r, err
	}
	if r.Sandbox, err = endpointExt(op.Extensions, extSandbox, at, x.named); err != nil {
		return r, err
	}
	return r, nil
}

// basePath is x-wso2-basePath, else the path of the first server's URL
// (2.0's basePath arrives there through openapi2conv), else "/".
func basePath(doc *openapi3.T) (string, error) {
	at := jsonPath{extBasePath}
	bp, set, err := stringExt(doc.Extensions, extBasePath, nil)
	if err != nil {
		return "", err
	}
	if !set {
		at = jsonPath{"servers", index(0), "url"}
		bp = "/"
		// An empty URL is a reference to the definition's own location
		// (RFC 3986), which says nothing about a base path: "/", as with
		// no servers. APIs.guru holds several definitions written so.
		if s := firstServer(doc); s != nil && strings.TrimSpace(s.URL) != "" {
			if bp, err = s.BasePath(); err != nil {
				return "", errorAt(at, "server URL %q is neither an absolute URL nor a path from the root (/...), so it gives no base path (%w): "+
					"correct it, or give the base path with %s", s.URL, err, extBasePath)
			}
		}
	}
	norm, err := normalizeBasePath(bp)
	if err != nil {
		return "", &pathError{path: at, err: err}
	}
	return norm, nil
}

func firstServer(doc *openapi3.T) *openapi3.Server {
	if len(doc.Servers) == 0 {
		return nil
	}
	return doc.Servers[0]
}

// serversEndpoint is the production endpoint of an API without
// x-wso2-production-endpoints: its absolute http(s) server URLs, in order
// (failover), as WSO2 did; nil when there is none (a relative URL, no
// servers): the endpoint is then given at deploy time (endpointNotice).
func serversEndpoint(servers openapi3.Servers) *runtime.Endpoint {
	var urls []string
	for i, s := range servers {
		if s == nil {
			continue
		}
		raw := s.URL
		for name, v := range s.Variables {
			if v != nil {
				raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
			}
		}
		list, err := parseURLs(raw, jsonPath{"servers", index(i)})
		if err != nil {
			continue
		}
		urls = append(urls, list...)
	}
	if len(urls) == 0 {
		return nil
	}
	return &runtime.Endpoint{URLs: urls, Type: endpointFailover}
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// normalizeBasePath makes a base path start with "/" and end without one;
// "/" stays "/". Templates, queries and dot segments are refused.
func normalizeBasePath(bp string) (string, error) {
	if u, err := url.PathUnescape(bp); err != nil || u != bp {
		return "", errors.New("a base path must not hold percent-escapes")
	}
	if strings.ContainsAny(bp, "{}?#* \t\r\n\\") {
		return "", errors.New("a base path must be a plain path such as /petstore/v1, without templates, query, spaces or backslashes")
	}
	segs := strings.Split(strings.Trim(bp, "/"), "/")
	for _, s := range segs {
		if s == "." || s == ".." || (s == "" && len(segs) > 1) {
			return "", errors.New("a base path must not have empty, . or .. segments")
		}
	}
	return "/" + strings.Trim(bp, "/"), nil
}

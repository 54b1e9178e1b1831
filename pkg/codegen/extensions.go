package codegen

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// The WSO2 API Microgateway extensions that micro-gw honours.
const (
	extBasePath        = "x-wso2-basePath"
	extProduction      = "x-wso2-production-endpoints"
	extSandbox         = "x-wso2-sandbox-endpoints"
	extEndpoints       = "x-wso2-endpoints"
	extDisableSecurity = "x-wso2-disable-security"
	extThrottlingTier  = "x-wso2-throttling-tier"
)

// Endpoint types of an endpoint object.
const (
	endpointLoadBalance = "load_balance"
	endpointFailover    = "failover"
)

// endpointRefPrefix starts a reference to a named endpoint of x-wso2-endpoints.
const endpointRefPrefix = "#/" + extEndpoints + "/"

// extValue returns the extension name of exts, decoding a raw JSON value.
func extValue(exts map[string]any, name string) (any, bool, error) {
	v, ok := exts[name]
	if !ok {
		return nil, false, nil
	}
	if raw, isRaw := v.(json.RawMessage); isRaw {
		var decoded any
		if err := json.Unmarshal(raw, &decoded); err != nil {
			return nil, true, err
		}
		v = decoded
	}
	return v, true, nil
}

// boolExt reads a boolean extension; anything but true or false is an error.
func boolExt(exts map[string]any, name string, at jsonPath) (value, set bool, err error) {
	v, ok, err := extValue(exts, name)
	if err != nil || !ok {
		return false, ok, errorIf(err, at.child(name))
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, true, errorAt(at.child(name), "must be a boolean (true or false), got %s", describe(v))
	}
	return b, true, nil
}

// stringExt reads a non-empty string extension.
func stringExt(exts map[string]any, name string, at jsonPath) (string, bool, error) {
	v, ok, err := extValue(exts, name)
	if err != nil || !ok {
		return "", ok, errorIf(err, at.child(name))
	}
	s, isString := v.(string)
	if !isString || strings.TrimSpace(s) == "" {
		return "", true, errorAt(at.child(name), "must be a non-empty string, got %s", describe(v))
	}
	return s, true, nil
}

// namedEndpoints reads the top-level x-wso2-endpoints: a list of one-key
// objects {name: endpoint} as in WSO2, or one object of names. The map is
// never nil, so that a reference to an unknown name is reported as such.
func namedEndpoints(exts map[string]any) (map[string]*runtime.Endpoint, error) {
	at := jsonPath{extEndpoints}
	named := map[string]*runtime.Endpoint{}
	v, ok, err := extValue(exts, extEndpoints)
	if err != nil || !ok {
		return named, errorIf(err, at)
	}
	add := func(m map[string]any, at jsonPath) error {
		for _, name := range sortedKeys(m) {
			if _, dup := named[name]; dup {
				return errorAt(at.child(name), "endpoint %q is defined twice", name)
			}
			ep, err := parseEndpoint(m[name], at.child(name), nil)
			if err != nil {
				return err
			}
			named[name] = ep
		}
		return nil
	}
	switch t := v.(type) {
	case []any:
		for i, item := range t {
			m, isMap := item.(map[string]any)
			if !isMap {
				return nil, errorAt(at.child(index(i)), "must be an object {name: {urls: [...]}}, got %s", describe(item))
			}
			if err := add(m, at.child(index(i))); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		if err := add(t, at); err != nil {
			return nil, err
		}
	default:
		return nil, errorAt(at, "must be a list of named endpoints, got %s", describe(v))
	}
	return named, nil
}

// endpointExt reads x-wso2-production-endpoints or x-wso2-sandbox-endpoints.
func endpointExt(exts map[string]any, name string, at jsonPath, named map[string]*runtime.Endpoint) (*runtime.Endpoint, error) {
	v, ok, err := extValue(exts, name)
	if err != nil || !ok {
		return nil, errorIf(err, at.child(name))
	}
	return parseEndpoint(v, at.child(name), named)
}

// parseEndpoint reads an endpoint object {urls: [...], type: ...} or, where
// named is not nil, a reference "#/x-wso2-endpoints/<name>".
func parseEndpoint(v any, at jsonPath, named map[string]*runtime.Endpoint) (*runtime.Endpoint, error) {
	if ref, isRef := v.(string); isRef && named != nil {
		name, found := strings.CutPrefix(ref, endpointRefPrefix)
		if !found {
			return nil, errorAt(at, "a reference must look like %q, got %q", endpointRefPrefix+"<name>", ref)
		}
		ep, known := named[name]
		if !known {
			return nil, errorAt(at, "no endpoint %q in %s", name, extEndpoints)
		}
		return ep, nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, errorAt(at, "must be an object {urls: [...], type: load_balance|failover}, got %s", describe(v))
	}
	ep := &runtime.Endpoint{Type: endpointLoadBalance}
	for _, key := range sortedKeys(m) {
		switch key {
		case "urls":
			urls, err := parseURLs(m[key], at.child(key))
			if err != nil {
				return nil, err
			}
			ep.URLs = urls
		case "type":
			t, isString := m[key].(string)
			if !isString || (t != endpointLoadBalance && t != endpointFailover) {
				return nil, errorAt(at.child(key), "must be %q or %q, got %s", endpointLoadBalance, endpointFailover, describe(m[key]))
			}
			ep.Type = t
		case "securityConfig":
			return nil, errorAt(at.child(key), "backend credentials are not supported: the gateway does not authenticate to backends")
		default:
			return nil, errorAt(at.child(key), "unknown key: an endpoint has urls and type")
		}
	}
	if len(ep.URLs) == 0 {
		return nil, errorAt(at.child("urls"), "an endpoint needs at least one URL")
	}
	return ep, nil
}

// parseURLs reads the urls of an endpoint: absolute http or https URLs
// without credentials, query or fragment. A trailing "/" is dropped, since
// the request path is appended to the URL's own path.
func parseURLs(v any, at jsonPath) ([]string, error) {
	list, isList := v.([]any)
	if !isList {
		if s, isString := v.(string); isString {
			list = []any{s}
		} else {
			return nil, errorAt(at, "must be a list of URLs, got %s", describe(v))
		}
	}
	urls := make([]string, 0, len(list))
	for i, item := range list {
		s, isString := item.(string)
		if !isString {
			return nil, errorAt(at.child(index(i)), "must be a URL string, got %s", describe(item))
		}
		u, err := url.Parse(s)
		switch {
		case err != nil:
			return nil, errorAt(at.child(index(i)), "not a URL: %w", err)
		case u.Scheme != "http" && u.Scheme != "https":
			return nil, errorAt(at.child(index(i)), "%q must be an http or https URL", s)
		case u.Host == "" || u.Opaque != "":
			return nil, errorAt(at.child(index(i)), "%q has no host", s)
		case u.User != nil:
			return nil, errorAt(at.child(index(i)), "%q carries credentials, which a definition must not hold", s)
		case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
			return nil, errorAt(at.child(index(i)), "%q must not have a query or a fragment", s)
		}
		urls = append(urls, strings.TrimRight(s, "/"))
	}
	return urls, nil
}

// describe names a decoded JSON value for messages, without echoing long
// or odd input.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("%t", t)
	case float64:
		return fmt.Sprintf("the number %v", t)
	case string:
		if len(t) > 60 {
			t = t[:60] + "..."
		}
		return fmt.Sprintf("the string %q", t)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func errorIf(err error, at jsonPath) error {
	if err == nil {
		return nil
	}
	return &pathError{path: at, err: err}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

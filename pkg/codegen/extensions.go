package codegen

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
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
			ep.Name = name
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
	m, err := objectAt(v, at, "{urls: [...], type: load_balance|failover}")
	if err != nil {
		return nil, err
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
		case "advanceEndpointConfig":
			if err := parseAdvanced(m[key], at.child(key), ep); err != nil {
				return nil, err
			}
		case "securityConfig":
			b, err := parseSecurityConfig(m[key], at.child(key))
			if err != nil {
				return nil, err
			}
			ep.Basic = b
		default:
			return nil, errorAt(at.child(key), "unknown key: an endpoint has urls, type, advanceEndpointConfig and securityConfig")
		}
	}
	if len(ep.URLs) == 0 {
		return nil, errorAt(at.child("urls"), "an endpoint needs at least one URL")
	}
	return ep, nil
}

// maxMillis bounds the durations of advanceEndpointConfig: a day.
const maxMillis = 24 * 60 * 60 * 1000

// maxRetries bounds retryConfig.count: every retry is one more request to a
// backend that is already failing.
const maxRetries = 10

// parseAdvanced reads an endpoint's advanceEndpointConfig: timeoutInMillis
// and retryConfig, in Choreo Connect's form ({count, statusCodes}) with the
// WSO2 API Microgateway 3.x fields intervalInMillis, backOffFactor and
// maxWaitIntervalInMillis.
func parseAdvanced(v any, at jsonPath, ep *runtime.Endpoint) error {
	m, err := objectAt(v, at, "{timeoutInMillis: N, retryConfig: {count: N, statusCodes: [...]}}")
	if err != nil {
		return err
	}
	for _, key := range sortedKeys(m) {
		switch key {
		case "timeoutInMillis":
			n, err := intIn(m[key], at.child(key), 1, maxMillis)
			if err != nil {
				return err
			}
			ep.Timeout = time.Duration(n) * time.Millisecond
		case "retryConfig":
			r, err := parseRetry(m[key], at.child(key))
			if err != nil {
				return err
			}
			ep.Retry = r
		default:
			return errorAt(at.child(key), "unknown key: advanceEndpointConfig has timeoutInMillis and retryConfig")
		}
	}
	return nil
}

// parseRetry reads retryConfig.
func parseRetry(v any, at jsonPath) (*runtime.Retry, error) {
	m, err := objectWith(v, at, "{count: N, statusCodes: [502, 503, 504]}", "count", "how many times a request may be sent again")
	if err != nil {
		return nil, err
	}
	r := &runtime.Retry{}
	for _, key := range sortedKeys(m) {
		var err error
		var n int
		switch key {
		case "count":
			r.Count, err = intIn(m[key], at.child(key), 0, maxRetries)
		case "statusCodes":
			r.StatusCodes, err = statusCodes(m[key], at.child(key))
		case "intervalInMillis":
			n, err = intIn(m[key], at.child(key), 0, maxMillis)
			r.Interval = time.Duration(n) * time.Millisecond
		case "maxWaitIntervalInMillis":
			n, err = intIn(m[key], at.child(key), 0, maxMillis)
			r.MaxInterval = time.Duration(n) * time.Millisecond
		case "backOffFactor":
			f, isNumber := m[key].(float64)
			if !isNumber || f < 1 || f > 100 {
				err = errorAt(at.child(key), "must be a number from 1 to 100, got %s", describe(m[key]))
			}
			r.BackOffFactor = f
		default:
			err = errorAt(at.child(key), "unknown key: retryConfig has count, statusCodes, intervalInMillis, backOffFactor and maxWaitIntervalInMillis")
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// statusCodes reads retryConfig.statusCodes: a non-empty list of 4xx and
// 5xx statuses.
func statusCodes(v any, at jsonPath) ([]int, error) {
	list, isList := v.([]any)
	if !isList || len(list) == 0 {
		return nil, errorAt(at, "must be a list of HTTP statuses, such as [502, 503, 504], got %s", describe(v))
	}
	codes := make([]int, 0, len(list))
	for i, item := range list {
		n, err := intIn(item, at.child(index(i)), 400, 599)
		if err != nil {
			return nil, err
		}
		codes = append(codes, n)
	}
	return codes, nil
}

// intIn reads a whole number from lo to hi.
func intIn(v any, at jsonPath, lo, hi int) (int, error) {
	f, isNumber := v.(float64)
	if !isNumber || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, errorAt(at, "must be a whole number from %d to %d, got %s", lo, hi, describe(v))
	}
	return int(f), nil
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
		u, err := config.CheckEndpointURL(s)
		if err != nil {
			return nil, &pathError{path: at.child(index(i)), err: err}
		}
		urls = append(urls, u)
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

// objectAt is v, the value at at, as an object; anything else is an error
// saying what it must be (shape) and what it is.
func objectAt(v any, at jsonPath, shape string) (map[string]any, error) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return nil, errorAt(at, "must be an object %s, got %s", shape, describe(v))
	}
	return m, nil
}

// objectWith is objectAt of an object that must have the member key; its
// error without it says what the member is for (why).
func objectWith(v any, at jsonPath, shape, key, why string) (map[string]any, error) {
	m, err := objectAt(v, at, shape)
	if err != nil {
		return nil, err
	}
	if _, ok := m[key]; !ok {
		return nil, errorAt(at.child(key), "is required: %s", why)
	}
	return m, nil
}

func errorIf(err error, at jsonPath) error {
	if err == nil {
		return nil
	}
	return &pathError{path: at, err: err}
}

// sortedKeys are the keys of m in order, so that the first fault reported
// is the same on every run.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

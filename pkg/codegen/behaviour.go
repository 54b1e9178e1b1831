package codegen

import (
	"errors"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// The API-level extensions that say how the gateway serves an API
// (docs/runtime.md, "Per-API behaviour" and "CORS"), besides its endpoints.
const (
	extAuthHeader = "x-wso2-auth-header"
	extTransports = "x-wso2-transports"
	extCORS       = "x-wso2-cors"
)

// The fields of x-wso2-cors (WSO2's names).
const (
	corsEnabled     = "corsConfigurationEnabled"
	corsOrigins     = "accessControlAllowOrigins"
	corsCredentials = "accessControlAllowCredentials"
	corsHeaders     = "accessControlAllowHeaders"
	corsMethods     = "accessControlAllowMethods"
)

// behaviour reads x-wso2-auth-header, x-wso2-transports and x-wso2-cors of
// the API into api.
func behaviour(exts map[string]any, api *runtime.API) error {
	h, set, err := stringExt(exts, extAuthHeader, nil)
	if err != nil {
		return err
	}
	if set {
		if !httpguts.ValidHeaderFieldName(h) {
			return errorAt(jsonPath{extAuthHeader}, "%q is not an HTTP header name", h)
		}
		api.AuthHeader = h
	}
	if api.Transports, err = transports(exts); err != nil {
		return err
	}
	api.CORS, err = corsExt(exts)
	return err
}

// transports reads x-wso2-transports: a list of "http" and "https" (or one
// of them as a string), any case. Both, the default, is nil.
func transports(exts map[string]any) ([]string, error) {
	at := jsonPath{extTransports}
	v, ok, err := extValue(exts, extTransports)
	if err != nil || !ok {
		return nil, errorIf(err, at)
	}
	list, err := stringList(v, at)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errorAt(at, `is empty: list "http", "https" or both`)
	}
	var out []string
	for i, s := range list {
		t := strings.ToLower(strings.TrimSpace(s))
		if t != runtime.TransportHTTP && t != runtime.TransportHTTPS {
			return nil, errorAt(at.child(index(i)), `must be "http" or "https", got %s`, describe(s))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 2 {
		return nil, nil
	}
	return out, nil
}

// corsExt reads x-wso2-cors. corsConfigurationEnabled is required, so that
// an x-wso2-cors that forgot it does not silently answer nothing; a list
// left out takes WSO2's default.
func corsExt(exts map[string]any) (*runtime.CORS, error) {
	at := jsonPath{extCORS}
	v, ok, err := extValue(exts, extCORS)
	if err != nil || !ok {
		return nil, errorIf(err, at)
	}
	m, err := objectWith(v, at, "{"+corsEnabled+": true, "+corsOrigins+": [...], ...}",
		corsEnabled, "true answers CORS for this API, false switches it off")
	if err != nil {
		return nil, err
	}
	c := &runtime.CORS{
		AllowOrigins: slices.Clone(cors.DefaultAllowOrigins),
		AllowHeaders: slices.Clone(cors.DefaultAllowHeaders),
		AllowMethods: slices.Clone(cors.DefaultAllowMethods),
	}
	for _, key := range sortedKeys(m) {
		var err error
		switch key {
		case corsEnabled, corsCredentials:
			b, isBool := m[key].(bool)
			if !isBool {
				return nil, errorAt(at.child(key), "must be a boolean (true or false), got %s", describe(m[key]))
			}
			if key == corsEnabled {
				c.Enabled = b
			} else {
				c.AllowCredentials = b
			}
		case corsOrigins:
			c.AllowOrigins, err = stringList(m[key], at.child(key))
		case corsHeaders:
			c.AllowHeaders, err = stringList(m[key], at.child(key))
		case corsMethods:
			c.AllowMethods, err = stringList(m[key], at.child(key))
		default:
			err = errorAt(at.child(key), "unknown key: x-wso2-cors has %s, %s, %s, %s and %s", corsEnabled, corsOrigins, corsCredentials, corsHeaders, corsMethods)
		}
		if err != nil {
			return nil, err
		}
	}
	err = cors.Check(cors.Config{AllowOrigins: c.AllowOrigins, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods})
	var fe *cors.FieldError
	if errors.As(err, &fe) {
		return nil, &pathError{path: at.child(fe.Field, index(fe.Index)), err: fe.Err}
	}
	return c, err
}

// stringList reads a list of strings, or one string as a list of one.
func stringList(v any, at jsonPath) ([]string, error) {
	if s, isString := v.(string); isString {
		return []string{s}, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, errorAt(at, "must be a list of strings, got %s", describe(v))
	}
	out := make([]string, len(list))
	for i, item := range list {
		s, isString := item.(string)
		if !isString {
			return nil, errorAt(at.child(index(i)), "must be a string, got %s", describe(item))
		}
		out[i] = s
	}
	return out, nil
}

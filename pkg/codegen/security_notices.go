package codegen

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// securityNotices are warnings about security the definition declares but
// the gateway does not check as written: micro-gw authenticates every
// secured resource with a JWT bearer token, whatever scheme the definition
// names. A definition written for API keys, basic auth or mutual TLS builds,
// and its author learns that its clients will need a token instead; so does
// the author of one that declares no security at all.
func (d *Definition) securityNotices() []*DefinitionError {
	var out []*DefinitionError
	if c := d.Doc.Components; c != nil {
		for _, name := range slices.Sorted(maps.Keys(c.SecuritySchemes)) {
			ref := c.SecuritySchemes[name]
			if ref == nil || ref.Value == nil {
				continue
			}
			v := ref.Value
			kind := v.Type
			switch {
			case v.Type == "oauth2", v.Type == "openIdConnect":
				continue
			case v.Type == "http" && strings.EqualFold(v.Scheme, "bearer"):
				continue
			case v.Type == "http":
				kind = "http " + v.Scheme
			}
			out = append(out, d.wrap(jsonPath{"components", "securitySchemes", name},
				fmt.Errorf("micro-gw does not check %s credentials: a secured resource that names this scheme requires a JWT bearer token instead", kind)))
		}
	}
	if !d.declaresSecurity() {
		out = append(out, d.wrap(nil, fmt.Errorf(
			"no security requirement is declared, yet every resource requires a JWT bearer token, as in WSO2 (%s: true, or security: [] on an operation, serves without one)", extDisableSecurity)))
	}
	return out
}

// declaresSecurity reports whether the definition says anything about the
// security of its resources: a top-level or operation security
// requirement, or x-wso2-disable-security anywhere.
func (d *Definition) declaresSecurity() bool {
	if d.Doc.Security != nil {
		return true
	}
	if _, ok := d.Doc.Extensions[extDisableSecurity]; ok {
		return true
	}
	if d.Doc.Paths == nil {
		return true // nothing to secure
	}
	for _, item := range d.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security != nil {
				return true
			}
			if _, ok := op.Extensions[extDisableSecurity]; ok {
				return true
			}
		}
	}
	return false
}

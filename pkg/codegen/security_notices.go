package codegen

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// securityNotices are warnings about security the definition declares but
// the gateway does not check as written (docs/authentication.md): a scheme
// it cannot check (http digest, negotiate, ...: an alternative that needs
// one is left out), an empty requirement {} (OpenAPI's anonymous access,
// which a secured resource does not grant), and a definition that declares
// no security at all, whose resources all require a bearer token, as in
// WSO2.
func (d *Definition) securityNotices() []*DefinitionError {
	var out []*DefinitionError
	if c := d.Doc.Components; c != nil {
		for _, name := range slices.Sorted(maps.Keys(c.SecuritySchemes)) {
			ref := c.SecuritySchemes[name]
			if ref == nil || ref.Value == nil {
				continue
			}
			if _, ok := schemeOf(ref.Value); ok {
				continue
			}
			kind := ref.Value.Type
			if kind == "http" {
				kind = "http " + ref.Value.Scheme
			}
			out = append(out, d.wrap(jsonPath{"components", "securitySchemes", name},
				fmt.Errorf("micro-gw cannot check %s credentials: an alternative that requires this scheme is left out", kind)))
		}
	}
	emptyIn := func(reqs *openapi3.SecurityRequirements, at jsonPath) {
		if reqs == nil || len(*reqs) < 2 {
			return
		}
		for i, req := range *reqs {
			if len(req) == 0 {
				out = append(out, d.wrap(at.child(index(i)), fmt.Errorf(
					"an empty requirement makes security optional in OpenAPI; micro-gw grants no anonymous access to a secured resource, so one of the other alternatives is required (%s: true, or security: [] on an operation, serves without credentials)", extDisableSecurity)))
			}
		}
	}
	emptyIn(&d.Doc.Security, jsonPath{"security"})
	if d.Doc.Paths != nil {
		for _, p := range slices.Sorted(maps.Keys(d.Doc.Paths.Map())) {
			item := d.Doc.Paths.Value(p)
			for _, method := range methodOrder {
				if op := item.GetOperation(method); op != nil {
					emptyIn(op.Security, jsonPath{"paths", p, strings.ToLower(method), "security"})
				}
			}
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
// requirement, or a WSO2 security extension anywhere.
func (d *Definition) declaresSecurity() bool {
	declares := func(exts map[string]any) bool {
		for _, name := range []string{extDisableSecurity, extAppSecurity, extMutualSSL} {
			if _, ok := exts[name]; ok {
				return true
			}
		}
		return false
	}
	if d.Doc.Security != nil || declares(d.Doc.Extensions) {
		return true
	}
	if d.Doc.Paths == nil {
		return true // nothing to secure
	}
	for _, item := range d.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Security != nil || declares(op.Extensions) {
				return true
			}
		}
	}
	return false
}

package codegen

import (
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// WSO2's security extensions (docs/authentication.md, "What a definition
// asks for").
const (
	extAppSecurity = "x-wso2-application-security"
	extMutualSSL   = "x-wso2-mutual-ssl"
)

// The security types of x-wso2-application-security.
const (
	appOAuth2 = "oauth2"
	appAPIKey = "api_key"
	appBasic  = "basic_auth"
)

// Values of x-wso2-mutual-ssl.
const (
	mutualMandatory = "mandatory"
	mutualOptional  = "optional"
)

// appSecurity is x-wso2-application-security: the application schemes an
// operation accepts (any one), and whether they may be left out when
// mutual TLS is mandatory.
type appSecurity struct {
	types    []string
	optional bool
	at       jsonPath
}

// apiSecurity is what the API level says about security.
type apiSecurity struct {
	app    *appSecurity
	mutual string // x-wso2-mutual-ssl: "", mutualMandatory or mutualOptional
}

// readAPISecurity reads the API-level extensions.
func readAPISecurity(exts map[string]any) (apiSecurity, error) {
	var s apiSecurity
	var err error
	if s.app, err = appSecurityExt(exts, nil); err != nil {
		return s, err
	}
	m, set, err := stringExt(exts, extMutualSSL, nil)
	if err != nil {
		return s, err
	}
	if set {
		switch strings.ToLower(m) {
		case mutualMandatory, mutualOptional:
			s.mutual = strings.ToLower(m)
		default:
			return s, errorAt(jsonPath{extMutualSSL}, "must be %q or %q, got %s", mutualMandatory, mutualOptional, describe(m))
		}
	}
	return s, nil
}

// appSecurityExt reads x-wso2-application-security at, nil when absent:
// {security-types: [oauth2, api_key, basic_auth], optional: false}.
func appSecurityExt(exts map[string]any, at jsonPath) (*appSecurity, error) {
	at = at.child(extAppSecurity)
	v, ok, err := extValue(exts, extAppSecurity)
	if err != nil || !ok {
		return nil, errorIf(err, at)
	}
	m, err := objectAt(v, at, "{security-types: [oauth2, api_key, basic_auth], optional: false}")
	if err != nil {
		return nil, err
	}
	app := &appSecurity{at: at}
	for _, key := range sortedKeys(m) {
		switch key {
		case "security-types":
			list, err := stringList(m[key], at.child(key))
			if err != nil {
				return nil, err
			}
			for i, t := range list {
				if t != appOAuth2 && t != appAPIKey && t != appBasic {
					return nil, errorAt(at.child(key, index(i)), "must be %q, %q or %q, got %s", appOAuth2, appAPIKey, appBasic, describe(t))
				}
				if !slices.Contains(app.types, t) {
					app.types = append(app.types, t)
				}
			}
		case "optional":
			b, isBool := m[key].(bool)
			if !isBool {
				return nil, errorAt(at.child(key), "must be a boolean (true or false), got %s", describe(m[key]))
			}
			app.optional = b
		default:
			return nil, errorAt(at.child(key), "unknown key: %s has security-types and optional", extAppSecurity)
		}
	}
	if len(app.types) == 0 && !app.optional {
		return nil, errorAt(at.child("security-types"), "names no security type: list oauth2, api_key or basic_auth")
	}
	return app, nil
}

// security compiles the security of a secured operation
// (docs/authentication.md): the alternatives of its security requirement
// (the API's when it has none), each scheme mapped to what the gateway
// checks; x-wso2-application-security (the operation's, else the API's)
// replacing the application schemes; x-wso2-mutual-ssl adding a client
// certificate. With nothing declared, a bearer token, as in WSO2.
func (x apiLevel) security(op *openapi3.Operation, at jsonPath) ([]runtime.Requirement, error) {
	reqs, reqsAt := op.Security, at.child("security")
	if reqs == nil {
		reqs, reqsAt = &x.doc.Security, jsonPath{"security"}
	}
	var alts []runtime.Requirement
	declared := false
	for i, req := range *reqs {
		if len(req) == 0 {
			continue // {}: anonymous access, which micro-gw does not grant (a warning)
		}
		declared = true
		alt, ok, err := x.requirement(req, reqsAt.child(index(i)))
		if err != nil {
			return nil, err
		}
		if ok {
			alts = appendAlt(alts, alt)
		}
	}
	if declared && len(alts) == 0 {
		return nil, errorAt(reqsAt, "micro-gw can check none of these security alternatives (see the warnings about their schemes); give one it can: oauth2, openIdConnect, http bearer or basic, apiKey, mutualTLS")
	}
	if !declared {
		alts = []runtime.Requirement{{Schemes: []runtime.Scheme{{Kind: runtime.SchemeOAuth2}}}}
	}
	app, err := appSecurityExt(op.Extensions, at)
	if err != nil {
		return nil, err
	}
	if app == nil {
		app = x.sec.app
	}
	if app != nil {
		alts = app.alternatives(alts)
	}
	switch {
	case x.sec.mutual == mutualMandatory && app != nil && app.optional:
		return []runtime.Requirement{{Schemes: []runtime.Scheme{{Kind: runtime.SchemeMutualTLS}}}}, nil
	case app != nil && app.optional:
		return nil, errorAt(app.at.child("optional"), "optional: true leaves application security out only where x-wso2-mutual-ssl is mandatory (at the API level): one of the two must be required")
	case x.sec.mutual == mutualMandatory:
		for i := range alts {
			alts[i] = withScheme(alts[i], runtime.Scheme{Kind: runtime.SchemeMutualTLS})
		}
	case x.sec.mutual == mutualOptional:
		alts = append([]runtime.Requirement{{Schemes: []runtime.Scheme{{Kind: runtime.SchemeMutualTLS}}}}, alts...)
	}
	return alts, nil
}

// requirement maps one security requirement object (every scheme must
// pass) to an alternative; ok is false when a scheme is one micro-gw cannot
// check (securityNotices warns about it), and the alternative is left out.
func (x apiLevel) requirement(req openapi3.SecurityRequirement, at jsonPath) (runtime.Requirement, bool, error) {
	var alt runtime.Requirement
	names := make([]string, 0, len(req))
	for name := range req {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ss := x.scheme(name)
		if ss == nil {
			return alt, false, errorAt(at.child(name), "names no security scheme of components.securitySchemes")
		}
		sc, ok := schemeOf(ss)
		if !ok {
			return alt, false, nil
		}
		sc.Scopes = sortedScopes(req[name])
		alt = withScheme(alt, sc)
	}
	return alt, true, nil
}

// scheme is the security scheme of that name, nil when there is none.
func (x apiLevel) scheme(name string) *openapi3.SecurityScheme {
	if x.doc.Components == nil {
		return nil
	}
	ref := x.doc.Components.SecuritySchemes[name]
	if ref == nil {
		return nil
	}
	return ref.Value
}

// schemeOf maps a security scheme to what the gateway checks; false for
// one it cannot check (http digest, negotiate, ...).
func schemeOf(ss *openapi3.SecurityScheme) (runtime.Scheme, bool) {
	switch ss.Type {
	case "oauth2", "openIdConnect":
		return runtime.Scheme{Kind: runtime.SchemeOAuth2}, true
	case "http":
		switch strings.ToLower(ss.Scheme) {
		case "bearer":
			return runtime.Scheme{Kind: runtime.SchemeOAuth2}, true
		case "basic":
			return runtime.Scheme{Kind: runtime.SchemeBasic}, true
		}
	case "apiKey":
		return runtime.Scheme{Kind: runtime.SchemeAPIKey, In: ss.In, Name: ss.Name}, true
	case "mutualTLS":
		return runtime.Scheme{Kind: runtime.SchemeMutualTLS}, true
	}
	return runtime.Scheme{}, false
}

// alternatives are the alternatives of x-wso2-application-security, from
// the definition's: oauth2 a bearer token with the scopes of the first
// alternative that names one; api_key the definition's apiKey schemes, or
// the apikey header when it declares none; basic_auth a user of [b7a.users]
// holding those scopes, as WSO2 checked them.
func (app *appSecurity) alternatives(declared []runtime.Requirement) []runtime.Requirement {
	var scopes []string
	var keys []runtime.Scheme
	for _, alt := range declared {
		for _, s := range alt.Schemes {
			switch s.Kind {
			case runtime.SchemeOAuth2:
				if scopes == nil {
					scopes = s.Scopes
				}
			case runtime.SchemeAPIKey:
				if !slices.ContainsFunc(keys, func(k runtime.Scheme) bool { return k.In == s.In && k.Name == s.Name }) {
					keys = append(keys, runtime.Scheme{Kind: runtime.SchemeAPIKey, In: s.In, Name: s.Name})
				}
			}
		}
	}
	if len(keys) == 0 {
		keys = []runtime.Scheme{{Kind: runtime.SchemeAPIKey, In: runtime.InHeader, Name: runtime.DefaultAPIKeyName}}
	}
	var out []runtime.Requirement
	for _, t := range app.types {
		switch t {
		case appOAuth2:
			out = appendAlt(out, runtime.Requirement{Schemes: []runtime.Scheme{{Kind: runtime.SchemeOAuth2, Scopes: scopes}}})
		case appAPIKey:
			for _, k := range keys {
				out = appendAlt(out, runtime.Requirement{Schemes: []runtime.Scheme{k}})
			}
		case appBasic:
			out = appendAlt(out, runtime.Requirement{Schemes: []runtime.Scheme{{Kind: runtime.SchemeBasic, Scopes: scopes}}})
		}
	}
	return out
}

// withScheme adds s to alt; a scheme already there (the same kind and
// place) gets the union of the scopes instead.
func withScheme(alt runtime.Requirement, s runtime.Scheme) runtime.Requirement {
	for i, have := range alt.Schemes {
		if have.Kind == s.Kind && have.In == s.In && have.Name == s.Name {
			merged := slices.Clone(alt.Schemes)
			merged[i].Scopes = sortedScopes(append(slices.Clone(have.Scopes), s.Scopes...))
			return runtime.Requirement{Schemes: merged}
		}
	}
	return runtime.Requirement{Schemes: append(slices.Clone(alt.Schemes), s)}
}

// appendAlt appends alt unless an equal alternative is there.
func appendAlt(alts []runtime.Requirement, alt runtime.Requirement) []runtime.Requirement {
	for _, a := range alts {
		if slices.EqualFunc(a.Schemes, alt.Schemes, func(x, y runtime.Scheme) bool {
			return x.Kind == y.Kind && x.In == y.In && x.Name == y.Name && slices.Equal(x.Scopes, y.Scopes)
		}) {
			return alts
		}
	}
	return append(alts, alt)
}

// sortedScopes is a requirement's scopes, sorted, each once; nil for none.
func sortedScopes(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	out := slices.Clone(list)
	sort.Strings(out)
	return dedupe(out)
}

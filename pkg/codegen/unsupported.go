package codegen

import (
	"errors"
	"sort"
	"strings"
)

var errNotHonoured = errors.New("not supported by micro-gw; ignored")

// honoured are the x-wso2-* extensions micro-gw compiles in, and where.
var honoured = map[string]bool{
	extBasePath: true, extProduction: true, extSandbox: true, extEndpoints: true,
	extDisableSecurity: true, extThrottlingTier: true,
	extAuthHeader: true, extTransports: true, extCORS: true,
	extAppSecurity: true, extMutualSSL: true,
}

// apiLevelOnly are the honoured extensions that mean nothing on an
// operation: they are warned about there.
var apiLevelOnly = map[string]bool{
	extBasePath: true, extEndpoints: true, extAuthHeader: true, extTransports: true, extCORS: true,
	extMutualSSL: true,
}

// Warnings are the faults of the definition that did not stop the build:
// what only strict validation found, the extensions not honoured, then the
// security the gateway does not check as written.
func (d *Definition) Warnings() []*DefinitionError {
	out := append(append([]*DefinitionError(nil), d.warnings...), d.Unsupported()...)
	return append(out, d.securityNotices()...)
}

// Unsupported lists, as warnings, the x-wso2-* extensions of the definition
// that micro-gw does not honour (x-wso2-application-security, an API-level
// extension on an operation, ...): a definition migrated from WSO2 builds,
// but its author learns what the gateway will not do.
func (d *Definition) Unsupported() []*DefinitionError {
	var out []*DefinitionError
	check := func(exts map[string]any, at jsonPath, allowed func(string) bool) {
		for _, name := range sortedKeys(exts) {
			if strings.HasPrefix(name, "x-wso2-") && !allowed(name) {
				out = append(out, d.wrap(at.child(name), errNotHonoured))
			}
		}
	}
	check(d.Doc.Extensions, nil, func(n string) bool { return honoured[n] })
	if d.Doc.Paths == nil {
		return out
	}
	paths := d.Doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	onOperation := func(n string) bool { return honoured[n] && !apiLevelOnly[n] }
	for _, p := range paths {
		item := d.Doc.Paths.Value(p)
		check(item.Extensions, jsonPath{"paths", p}, func(string) bool { return false })
		for _, method := range methodOrder {
			if op := item.GetOperation(method); op != nil {
				check(op.Extensions, jsonPath{"paths", p, strings.ToLower(method)}, onOperation)
			}
		}
	}
	return out
}

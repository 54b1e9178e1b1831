package codegen

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// validate runs kin-openapi's validation over each layer of pathLayers with
// every fault reported, not only the first. A fault in what the gateway
// never reads (see unusedByGateway) becomes a warning; any other fault is
// the error.
func (d *Definition) validate(ctx context.Context) error {
	var warnings []*DefinitionError
	seen := map[string]bool{} // a later layer repeats the security schemes
	warn := func(w *DefinitionError) {
		if msg := w.Error(); !seen[msg] {
			seen[msg] = true
			warnings = append(warnings, w)
		}
	}
	// The gateway's own rules on path templates first, and only here (the
	// route table is extracted from validated definitions): kin-openapi's
	// complaint about a path holding a query (/send?to={x}) is that its
	// parameters do not match, which does not say what is wrong.
	if d.Doc.Paths != nil {
		paths := d.Doc.Paths.InMatchingOrder()
		sort.Strings(paths)
		for _, p := range paths {
			if err := checkPathTemplate(p); err != nil {
				return d.wrap(jsonPath{"paths", p}, err)
			}
		}
	}
	all := faults(oddlyNamedComponents(ctx, d.Doc.Components))
	for _, doc := range d.pathLayers() {
		all = append(all, faults(doc.Validate(ctx, openapi3.EnableMultiError()))...)
	}
	for _, fault := range all {
		path, cause := validationPath(fault)
		if name, ok := oddComponentName(fault); ok {
			warn(d.errorf(path, "the name %q is not a component name of OpenAPI 3 (letters, digits, '.', '_' and '-'); $refs and security requirements naming it still work (the build goes on)", name))
			continue
		}
		if !unusedByGateway(fault) {
			return d.errorf(path, "invalid OpenAPI definition: %w", cause)
		}
		warn(d.errorf(path, "%s (not used by the gateway; the build goes on)", firstLine(cause.Error())))
	}
	d.warnings = append(d.warnings, warnings...)
	return nil
}

// oddComponentName reports whether err is kin-openapi's refusal of a
// component's name outside ^[a-zA-Z0-9._-]+$, and the name. Swagger 2.0
// allows any name in definitions and securityDefinitions, and real ones use
// them (grpc-gateway's "Stream result of X", Swashbuckle's generic
// `Response[Foo]`, "OAuth2 Application"); the gateway uses a component's
// name only to resolve $refs and security requirements, which take any
// string, so such a name is a warning.
func oddComponentName(err error) (string, bool) {
	var c *openapi3.ComponentValidationError
	if !errors.As(err, &c) || c.Cause == nil {
		return "", false
	}
	idErr := openapi3.ValidateIdentifier(c.Name)
	return c.Name, idErr != nil && c.Cause.Error() == idErr.Error()
}

// oddlyNamedComponents validates the components whose names
// oddComponentName warns about: kin-openapi refuses the name and skips the
// value, and what the gateway uses of it (a security scheme's type and
// flows) must still be checked. Each fault is wrapped as kin-openapi wraps
// those of other components.
func oddlyNamedComponents(ctx context.Context, c *openapi3.Components) error {
	if c == nil {
		return nil
	}
	ctx = openapi3.WithValidationOptions(ctx, openapi3.EnableMultiError())
	var all openapi3.MultiError
	check := func(section, name string, err error) {
		if err != nil {
			all = append(all, &openapi3.SectionValidationError{Section: "components",
				Cause: &openapi3.ComponentValidationError{Section: section, Name: name, Cause: err}})
		}
	}
	checkOdd(ctx, "schema", c.Schemas, check)
	checkOdd(ctx, "parameter", c.Parameters, check)
	checkOdd(ctx, "request body", c.RequestBodies, check)
	checkOdd(ctx, "response", c.Responses, check)
	checkOdd(ctx, "header", c.Headers, check)
	checkOdd(ctx, "security scheme", c.SecuritySchemes, check)
	checkOdd(ctx, "example", c.Examples, check)
	checkOdd(ctx, "link", c.Links, check)
	checkOdd(ctx, "callback", c.Callbacks, check)
	if len(all) == 0 {
		return nil
	}
	return all
}

// checkOdd validates each value of m whose name is not an OpenAPI 3
// identifier, in the order of the names.
func checkOdd[M ~map[string]V, V interface {
	Validate(context.Context, ...openapi3.ValidationOption) error
}](ctx context.Context, section string, m M, check func(section, name string, err error)) {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if openapi3.ValidateIdentifier(name) != nil {
			check(section, name, m[name].Validate(ctx))
		}
	}
}

// faults lists the separate faults of a validation error.
func faults(err error) []error {
	var me openapi3.MultiError
	if !errors.As(err, &me) {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range me {
		out = append(out, faults(e)...)
	}
	return out
}

// unusedByGateway reports whether a fault lies in what the gateway never
// reads: it routes by path and method and authenticates by the security
// requirements, and never checks a payload or a parameter against its
// schema. So a schema the validator refuses (an array without items, an
// unknown type, a pattern Go's regexp cannot compile such as {0,4096}), an
// example or default that does not match its schema, or a keyword of
// another OpenAPI version is printed as a warning and the build goes on:
// real definitions carry such faults often enough (kin-openapi's own test
// corpus, GitHub's published one) that refusing them would refuse many
// users' APIs. kin-openapi names each fault with a stable code.
func unusedByGateway(err error) bool {
	// A value (an example, a default, a const) that its schema refuses,
	// found by the JSON Schema validation of 3.1 documents without a code.
	if schemaErr := (*openapi3.SchemaError)(nil); errors.As(err, &schemaErr) {
		return true
	}
	var coded openapi3.CodedError
	if !errors.As(err, &coded) {
		return false
	}
	code := coded.Code()
	for _, prefix := range []string{"schema-", "example-", "default-", "boolean-schema-", "unevaluated-"} {
		if strings.HasPrefix(code, prefix) {
			return true
		}
	}
	for _, suffix := range []string{"-for-3-1-plus", "-for-3-2-plus", "-before-3-1"} {
		if strings.HasSuffix(code, suffix) {
			return true
		}
	}
	switch code {
	case "read-only-write-only-mutually-exclusive", "additional-properties-both-forms-exclusive",
		"duplicate-required-field", "content-or-schema-exactly-one", "content-keys-overlap",
		// examples, links, docs, tags, license: read by people, not by the gateway
		"value-external-value-mutually-exclusive", "value-or-external-value-required",
		"example-examples-mutually-exclusive", "external-docs-url-required", "extra-sibling-fields",
		"operation-id-or-operation-ref-required", "operation-id-operation-ref-mutually-exclusive",
		"duplicate-tag", "duplicate-operation-id", "license-name-required", "url-identifier-mutually-exclusive",
		"json-schema-dialect-required", "webhook-nil",
		// payloads: bodies, responses, headers, encodings
		"request-body-content-required", "response-description-required", "responses-required",
		"operation-responses-required", "header-content-single-entry", "parameter-content-single-entry",
		"encoding-content-type-invalid", "serialization-method-invalid",
		// the router binds no parameter by name; an empty server URL is no
		// endpoint (the build says so if none is left). Not info's title and
		// version: validateSubscription matches them against the token.
		"parameter-name-required", "server-url-required":
		return true
	}
	return false
}

// firstLine is the first line of a message: kin-openapi follows some with
// the whole schema as indented JSON.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

package codegen

import (
	"context"
	"errors"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// validate runs kin-openapi's validation over each layer of pathLayers with
// every fault reported, not only the first. A fault in what the gateway
// never reads (see unusedByGateway) becomes a warning; any other fault is
// the error.
func (d *Definition) validate(ctx context.Context) error {
	var warnings []*DefinitionError
	for _, doc := range d.pathLayers() {
		for _, fault := range faults(doc.Validate(ctx, openapi3.EnableMultiError())) {
			path, cause := validationPath(fault)
			if !unusedByGateway(fault) {
				return d.errorf(path, "invalid OpenAPI definition: %w", cause)
			}
			warnings = append(warnings, d.errorf(path, "%s (not used by the gateway; the build goes on)", firstLine(cause.Error())))
		}
	}
	d.warnings = append(d.warnings, warnings...)
	return nil
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
		"encoding-content-type-invalid", "serialization-method-invalid":
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

package codegen

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// A Swagger 2.0 definition is validated as its OpenAPI 3 conversion
// (openapi2conv), so kin-openapi names its faults with 3.0 paths and 3.0
// $refs that do not exist in the file the user wrote. The functions below
// name them in 2.0 terms instead, and find their line in the 2.0 document.

// v2Sections maps the buckets of components to the top-level keys of a
// Swagger 2.0 document they were converted from. A body parameter of
// `parameters` becomes a request body of the same name.
var v2Sections = map[string]string{
	"schemas":         "definitions",
	"securitySchemes": "securityDefinitions",
	"responses":       "responses",
	"parameters":      "parameters",
	"requestBodies":   "parameters",
}

// v2Path maps p, a path of the OpenAPI 3 conversion of the Swagger 2.0
// document root, to the path of the same element in root. It follows p as
// long as root has a twin of each element: components.schemas.X is
// definitions.X, a response's or body's content.<media type>.schema is its
// schema, a parameter's schema is the parameter itself, a security scheme's
// flows.<flow> is the scheme, a requestBody is the operation's body
// parameter, and a parameter's index counts the 2.0 parameters that are not
// in: body or formData. Where an element has no twin (a request body made of
// formData parameters, servers, ...) the path ends at the deepest 2.0
// element that exists.
func v2Path(root *yaml.Node, p jsonPath) jsonPath {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return p
	}
	top := n
	var out jsonPath
	for i := 0; i < len(p); {
		n = unalias(n)
		k := p[i]
		if i == 0 && k == "components" && len(p) > 1 {
			section, ok := v2Sections[p[1]]
			next, _ := childNode(n, section)
			if !ok || next == nil {
				return out
			}
			out, n, i = out.child(section), next, i+2
			continue
		}
		if i == 0 && k == "servers" {
			// made of host, basePath and schemes
			for _, key := range []string{"host", "basePath", "schemes"} {
				if next, _ := childNode(n, key); next != nil {
					return out.child(key)
				}
			}
			return out
		}
		if k == "parameters" && i+1 < len(p) && isIndex(p[i+1]) {
			if next, _ := childNode(n, k); next != nil && next.Kind == yaml.SequenceNode {
				j := v2ParameterIndex(top, next, p[i+1])
				if j < 0 {
					return out
				}
				out, n, i = out.child(k, index(j)), next.Content[j], i+2
				continue
			}
		}
		if next, _ := childNode(n, k); next != nil {
			out, n, i = out.child(k), next, i+1
			continue
		}
		switch {
		case (k == "content" || k == "flows") && i+1 < len(p):
			i += 2 // content.<media type> of a body or response; flows.<flow> of a scheme
		case k == "schema":
			i++ // a parameter's or header's schema: its keys are the parameter's own
		case k == "requestBody":
			params, _ := childNode(n, "parameters")
			j := bodyParameter(top, params)
			if j < 0 {
				return out
			}
			out, n, i = out.child("parameters", index(j)), params.Content[j], i+1
		default:
			return out
		}
	}
	return out
}

// parameterIn is where a 2.0 parameter is (in: query, body, ...), following
// a $ref to the document's parameters.
func parameterIn(top, param *yaml.Node) string {
	param = unalias(param)
	if ref := topScalar(param, "$ref"); strings.HasPrefix(ref, "#/parameters/") {
		if params, _ := childNode(top, "parameters"); params != nil {
			if target, _ := childNode(unalias(params), unescapePointer(strings.TrimPrefix(ref, "#/parameters/"))); target != nil {
				param = unalias(target)
			}
		}
	}
	return topScalar(param, "in")
}

// v2ParameterIndex is the index in the 2.0 list params of the 3.0
// parameter at idx: the conversion drops body and formData parameters (they
// become the request body) and keeps the others in order. -1 if none.
func v2ParameterIndex(top, params *yaml.Node, idx string) int {
	want, ok := indexValue(idx)
	if !ok {
		return -1
	}
	for j, param := range params.Content {
		if in := parameterIn(top, param); in == "body" || in == "formData" {
			continue
		}
		if want == 0 {
			return j
		}
		want--
	}
	return -1
}

// bodyParameter is the index of the in: body parameter of a 2.0 list of
// parameters, -1 if none.
func bodyParameter(top, params *yaml.Node) int {
	if params == nil || unalias(params).Kind != yaml.SequenceNode {
		return -1
	}
	for j, param := range unalias(params).Content {
		if parameterIn(top, param) == "body" {
			return j
		}
	}
	return -1
}

// unescapePointer undoes the ~1 and ~0 escapes of a JSON pointer token.
func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// v2Refs maps the $ref prefixes of an OpenAPI 3 conversion back to those of
// the Swagger 2.0 document.
var v2Refs = strings.NewReplacer(
	"#/components/schemas/", "#/definitions/",
	"#/components/securitySchemes/", "#/securityDefinitions/",
	"#/components/responses/", "#/responses/",
	"#/components/parameters/", "#/parameters/",
	"#/components/requestBodies/", "#/parameters/",
)

// v2Error is err with its message in Swagger 2.0 terms: a $ref it quotes
// as "#/components/responses/empty" is named "#/responses/empty", as the
// user wrote it.
type v2Error struct {
	msg string
	err error
}

func (e *v2Error) Error() string { return e.msg }
func (e *v2Error) Unwrap() error { return e.err }

func toV2Error(err error) error {
	msg := err.Error()
	if v2 := v2Refs.Replace(msg); v2 != msg {
		return &v2Error{msg: v2, err: err}
	}
	return err
}

// quotedRefLine finds the line of a fault that names only a $ref (a loader's
// or converter's error has no path): the line of the first `$ref` in root
// whose value the message quotes, the longest such value if several do.
// When the message is about a schema ("expecting ref to schema object"), a
// $ref inside a schema (under a schema or definitions key) comes first: the
// same $ref is often right elsewhere. 0 when none matches.
func quotedRefLine(root *yaml.Node, msg string) int {
	aboutSchema := strings.Contains(msg, "schema")
	best, line, inSchemaBest := 0, 0, false
	var walk func(n *yaml.Node, inSchema bool)
	walk = func(n *yaml.Node, inSchema bool) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, inSchema)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value != "$ref" || v.Kind != yaml.ScalarNode {
					walk(v, inSchema || k.Value == "schema" || k.Value == "definitions")
					continue
				}
				if !refQuoted(msg, v.Value) {
					continue
				}
				better := len(v.Value) > best
				if aboutSchema && inSchema != inSchemaBest {
					better = inSchema
				}
				if better {
					best, line, inSchemaBest = len(v.Value), k.Line, inSchema
				}
			}
		}
	}
	if root != nil {
		walk(root, false)
	}
	return line
}

// refQuoted reports whether msg names ref: quoted ("#/responses/empty"), or
// as the end of a file path the loader resolved it to (/dir/ref: ...).
func refQuoted(msg, ref string) bool {
	return strings.Contains(msg, `"`+ref+`"`) || strings.Contains(msg, "/"+ref+":") ||
		strings.Contains(msg, " "+ref+":")
}

package codegen

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// lineOf returns the line of the deepest element of path that exists in the
// document root (a yaml.v3 document node), so that a fault in a value that
// is missing points at its parent. It returns 0 when nothing matches.
func lineOf(root *yaml.Node, path jsonPath) int {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return 0
	}
	line := n.Line
	for _, key := range path {
		n = unalias(n)
		next, keyLine := childNode(n, key)
		if next == nil {
			return line
		}
		line = keyLine
		n = next
	}
	return line
}

// unalias is the node an alias stands for, n itself when it is none.
func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// childNode returns the value under key in a mapping (or at an index in a
// sequence) and the line of its key.
func childNode(n *yaml.Node, key string) (*yaml.Node, int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1], n.Content[i].Line
			}
		}
	case yaml.SequenceNode:
		if i, ok := indexValue(key); ok && i < len(n.Content) {
			return n.Content[i], n.Content[i].Line
		}
	}
	return nil, 0
}

var messageLine = regexp.MustCompile(`\bline (\d+):`)

// lineInMessage finds "line N:" in the message of a parser's error (the
// loader's YAML errors carry one), 0 when there is none.
func lineInMessage(err error) int {
	if m := messageLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error of data into a line and a message.
func syntaxError(data []byte, err error) (int, error) {
	var typeErr *yaml.TypeError
	if errors.As(err, &typeErr) && len(typeErr.Errors) > 0 {
		err = errors.New(typeErr.Errors[0])
	}
	msg := strings.TrimSpace(err.Error())
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if strings.HasPrefix(m[2], "did not find expected ") {
			line = problemLine(data, line, msg)
		}
		return line, errors.New(m[2])
	}
	return 0, errors.New(strings.TrimPrefix(msg, "yaml: "))
}

// maxProblemSearch bounds the document problemLine searches: it parses it
// about log2(lines) times.
const maxProblemSearch = 16 << 20

// problemLine finds the line of a "did not find expected ..." error. yaml.v3
// reports these at the line where the enclosing mapping or sequence began,
// which may be hundreds of lines before the fault (`paths:` for an
// operation indented one space too far). The fault is on the first line at
// which the document, cut after that line, fails with the same error: the
// lines before it form a complete document. Found by bisection, from the
// reported line on; the reported line is kept when the search finds nothing.
func problemLine(data []byte, reported int, msg string) int {
	if len(data) > maxProblemSearch || reported < 1 {
		return reported
	}
	ends := lineEnds(data)
	fails := func(line int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(data[:ends[line-1]], &n)
		return err != nil && strings.TrimSpace(err.Error()) == msg
	}
	lo, hi := reported, len(ends) // fails(hi) holds: the whole document
	if lo > hi || !fails(hi) {
		return reported
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// lineEnds returns, for each line of data (1-based line i at index i-1), the
// offset just past it.
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// validationPath walks the context wrappers of a kin-openapi validation
// error and returns the JSON path they name and the innermost cause.
func validationPath(err error) (jsonPath, error) {
	var path jsonPath
	cause := err
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := e.(type) {
		case *openapi3.SectionValidationError:
			path, cause = path.child(t.Section), t.Cause
		case *openapi3.PathValidationError:
			path, cause = path.child(t.Path), t.Cause
		case *openapi3.OperationValidationError:
			path, cause = path.child(strings.ToLower(t.Method)), t.Cause
		case *openapi3.ComponentValidationError:
			path, cause = path.child(componentSection(t.Section), t.Name), t.Cause
		case *openapi3.WebhookValidationError:
			path, cause = path.child(t.Name), t.Cause
		case *openapi3.TagValidationError:
			cause = t.Cause
		}
	}
	return path, cause
}

// componentSection maps kin-openapi's names of component buckets to the keys
// of the components object.
func componentSection(s string) string {
	switch s {
	case "schema":
		return "schemas"
	case "parameter":
		return "parameters"
	case "header":
		return "headers"
	case "request body":
		return "requestBodies"
	case "response":
		return "responses"
	case "security scheme":
		return "securitySchemes"
	case "example":
		return "examples"
	case "link":
		return "links"
	case "callback":
		return "callbacks"
	}
	return s
}

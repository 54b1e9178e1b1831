package codegen

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// duplicateKey finds the first mapping of the document that names a key
// twice. YAML and JSON both require keys to be unique, but yaml.v3's node
// tree, encoding/json and kin-openapi's loader all keep one of the two
// silently: a path or an operation pasted twice would lose the first without
// a word, which for a gateway means a route that is not there or not secured
// as written. Keys are compared as they will be read (the scalar's value,
// so `200:` and `'200':` are the same response). The YAML merge key `<<` is
// left alone: repeating it merges several maps, as its users intend.
func duplicateKey(root *yaml.Node) (key string, line, firstLine int, found bool) {
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n == nil || seen[n] {
			return false
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			first := make(map[string]int, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
					continue
				}
				if at, ok := first[k.Value]; ok {
					key, line, firstLine, found = k.Value, k.Line, at, true
					return true
				}
				first[k.Value] = k.Line
			}
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		// An alias is walked where its anchor is; following it again
		// would only find the same fault twice.
		return false
	}
	walk(root)
	return key, line, firstLine, found
}

// duplicateKeyError is the error for a key given twice, at the second.
func (d *Definition) duplicateKeyError(key string, line, firstLine int) *DefinitionError {
	return &DefinitionError{File: d.File, Line: line, Err: fmt.Errorf(
		"the key %q is given twice in the same mapping (first at line %d): %s", key, firstLine, duplicateWhy)}
}

const duplicateWhy = "keys must be unique, and one of the two would be dropped without a word"

// checkPartKeys refuses a file that a definition references ($ref) when it
// gives a key twice, as the definition itself is refused. Its lines are in
// the message, not as "line N:", which the build would take for a line of
// the definition. A part that does not parse is left to the loader.
func checkPartKeys(data []byte) error {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return nil
	}
	if key, line, first, ok := duplicateKey(&root); ok {
		return fmt.Errorf("the key %q is given twice in the same mapping (lines %d and %d): %s", key, first, line, duplicateWhy)
	}
	return nil
}

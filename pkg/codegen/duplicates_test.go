package codegen

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		doc         string
		key         string
		line, first int
	}{
		{doc: "a: 1\nb:\n  c: 1\n  d: 2\n"},
		// Repeating the merge key merges several maps: YAML users mean it.
		{doc: "x: &x {p: 1}\ny: &y {q: 1}\nz:\n  <<: *x\n  <<: *y\n"},
		// An alias to itself is walked once.
		{doc: "a: &a [*a]\n"},
		{doc: "a:\n  b: 1\n  c:\n    - d: 1\n      d: 2\n", key: "d", line: 5, first: 4},
		// Keys are compared as read: 200 and '200' are one response code.
		{doc: "r:\n  200: a\n  '200': b\n", key: "200", line: 3, first: 2},
		{doc: `{"a": {"b": 1,` + "\n" + `"b": 2}}`, key: "b", line: 2, first: 1},
	}
	for _, tt := range tests {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(tt.doc), &root); err != nil {
			t.Fatalf("%q: %v", tt.doc, err)
		}
		key, line, first, found := duplicateKey(&root)
		if found != (tt.key != "") || key != tt.key || line != tt.line || first != tt.first {
			t.Errorf("%q: duplicateKey = %q at %d (first %d), %v; want %q at %d (first %d)", tt.doc, key, line, first, found, tt.key, tt.line, tt.first)
		}
	}
}

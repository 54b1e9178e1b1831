package config

import (
	"fmt"
	"slices"

	"github.com/pelletier/go-toml/v2/unstable"
)

// indexLines maps the display path of every table and key in a TOML
// document (jwtTokenConfig[1].issuer for keys of array tables, quoted
// parts as quoteKey writes them) to the line
// where it is written. go-toml's decoder does not report positions for
// values it decoded without error, so errors found later (unknown keys,
// validation) take their line from this index.
func indexLines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	// Parser.Shape counts lines from the start of the document on every
	// call; a table of line starts keeps a large file linear.
	var nl []int
	for i, b := range data {
		if b == '\n' {
			nl = append(nl, i)
		}
	}
	lineOf := func(n *unstable.Node) int {
		line, _ := slices.BinarySearch(nl, int(n.Raw.Offset))
		return line + 1
	}
	counts := map[string]int{} // array table path -> tables seen
	var table string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			path, first := keyPath(e.Key(), counts)
			if e.Kind == unstable.ArrayTable {
				n := counts[path]
				counts[path] = n + 1
				path = fmt.Sprintf("%s[%d]", path, n)
			}
			table = path
			if first != nil {
				lines[path] = lineOf(first)
			}
		case unstable.KeyValue:
			indexKeyValue(e, table, lines, lineOf)
		}
	}
	return lines
}

// indexKeyValue records a key and, for an inline table value, its keys.
func indexKeyValue(kv *unstable.Node, table string, lines map[string]int, lineOf func(*unstable.Node) int) {
	path, first := keyPath(kv.Key(), nil)
	path = join(table, path)
	if first != nil {
		lines[path] = lineOf(first)
	}
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		it := v.Children()
		for it.Next() {
			if n := it.Node(); n.Kind == unstable.KeyValue {
				indexKeyValue(n, path, lines, lineOf)
			}
		}
	}
}

// keyPath joins the parts of a dotted key; a part that names an array table
// already seen refers to its last table, as in TOML.
func keyPath(it unstable.Iterator, counts map[string]int) (string, *unstable.Node) {
	var path, schema string
	var first *unstable.Node
	for it.Next() {
		n := it.Node()
		if first == nil {
			first = n
		}
		schema = join(schema, quoteKey(string(n.Data)))
		path = join(path, quoteKey(string(n.Data)))
		if c := counts[schema]; c > 0 && !it.IsLast() {
			path = fmt.Sprintf("%s[%d]", path, c-1)
		}
	}
	return path, first
}

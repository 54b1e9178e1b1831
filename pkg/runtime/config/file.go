package config

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// maxFileSize bounds what Load reads: a conf is a few kilobytes, and a
// mistaken path to a large file should fail fast rather than fill memory.
const maxFileSize = 4 << 20

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("read configuration: larger than %d bytes", maxFileSize)
	}
	return data, nil
}

// fileLayer reads data, the TOML document of the conf file, as the layer
// above the defaults. go-toml/v2 gives the generic tree and, through
// indexLines, the line of every key and table.
func (l *loader) fileLayer(data []byte) {
	tree := map[string]any{}
	if err := toml.Unmarshal(data, &tree); err != nil {
		e := &Error{File: l.file, Err: fmt.Errorf("invalid TOML: %w", err)}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			e.Line, _ = de.Position()
			e.Key = strings.Join(de.Key(), ".")
		}
		l.add(e)
		return
	}
	f := fileReader{layer: l.newLayer(true), lines: indexLines(data)}
	f.table(l.root, tree)
	f.merge()
}

type fileReader struct {
	*layer
	lines map[string]int
}

func (f fileReader) at(display string) Origin {
	return Origin{Source: FromFile, Line: f.lines[display]}
}

// table reads tree, the table at r.
func (f fileReader) table(r ref, tree map[string]any) {
	for _, key := range sortedKeys(tree) {
		val := tree[key]
		n := r.node.child(key)
		if n == nil {
			org := f.at(join(r.display, quoteKey(key)))
			if r.node.pass != nil {
				f.pass(r, key, val, org)
				continue
			}
			f.l.fault(org, join(r.display, quoteKey(key)), unknownKeyError(r, key))
			continue
		}
		c := r.to(n)
		org := f.at(c.display)
		switch n.shape {
		case shapeKey:
			f.put(r, n, val, org)
		case shapeTable:
			t, ok := val.(map[string]any)
			if !ok {
				f.l.fault(org, c.display, fmt.Errorf("must be a table, written [%s]", c.display))
				continue
			}
			f.l.origins[c.display] = org
			f.table(c, t)
		case shapeArray:
			list, ok := val.([]any)
			if !ok {
				f.l.fault(org, c.display, fmt.Errorf("must be a list of tables, written [[%s]]", c.display))
				continue
			}
			f.l.origins[c.display] = org
			for i, item := range list {
				t, ok := item.(map[string]any)
				if !ok {
					f.l.fault(org, c.display, fmt.Errorf("must be a list of tables, written [[%s]]", c.display))
					break
				}
				e := c.at(i)
				f.table(f.l.element(c, i, f.orAt(e.display, org)), t)
			}
		case shapeMap:
			t, ok := val.(map[string]any)
			if !ok {
				f.l.fault(org, c.display, fmt.Errorf(`must be a table of tables, written [%s."NAME"]`, c.display))
				continue
			}
			f.l.origins[c.display] = org
			for _, k := range sortedKeys(t) {
				e := c.entry(k)
				sub, ok := t[k].(map[string]any)
				if !ok {
					f.l.fault(f.orAt(e.display, org), e.display, fmt.Errorf("must be a table, written [%s]", e.display))
					continue
				}
				f.table(f.l.entry(c, k, f.orAt(e.display, org)), sub)
			}
		}
	}
}

// orAt is the origin of display when the file writes it on a line of its
// own, else parent (an inline table or array).
func (f fileReader) orAt(display string, parent Origin) Origin {
	if _, ok := f.lines[display]; ok {
		return f.at(display)
	}
	return parent
}

// sortedKeys is used where the order of a map must not show in results.
func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

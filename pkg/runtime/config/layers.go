package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// The layers of a configuration, lowest first: the defaults, the file, the
// MGW_ environment and the -e overrides. spf13/viper layers them: the
// defaults are its defaults (SetDefault), the file and then the environment
// are merged into its config (MergeConfigMap, a deep merge, so the
// environment wins), and -e goes into its overrides (Set); its Unmarshal
// (mapstructure, by the conf tags) fills the struct with the winners.
//
// Viper folds names to lower case and keeps no positions, so each layer is
// first read here against the schema, with the exact names and the lines:
// an unknown name or a value of the wrong type is an *Error naming the file
// and line, the variable or the flag. What viper gets is a leaf per key,
// already converted and carrying its origin, under names it cannot fold
// (vkey); an array of tables goes in as a table keyed by index, so that a
// higher layer changes one key of one table without replacing the list.

// leaf is what viper holds for one key: opaque to it, so its layering picks
// a whole leaf and the value's origin comes out with it.
type leaf struct {
	value   any
	display string
	origin  Origin
}

// ref is a place in a configuration: a node of the schema and, for array and
// map elements, which one.
type ref struct {
	node    *node
	display string // jwtTokenConfig[1].issuer
	vkey    string // the key viper has it under
}

func (r ref) to(n *node) ref {
	return ref{n, join(r.display, quoteKey(n.name)), join(r.vkey, vkey(n.name))}
}

// at is the i-th table of array r.
func (r ref) at(i int) ref {
	return ref{r.node.elem, r.display + "[" + strconv.Itoa(i) + "]", join(r.vkey, strconv.Itoa(i))}
}

// entry is the table keyed k of map r.
func (r ref) entry(k string) ref {
	return ref{r.node.elem, join(r.display, quoteKey(k)), join(r.vkey, vkey(k))}
}

// passed is the key k of table r that its passthrough field receives.
func (r ref) passed(k string) ref {
	return ref{r.node.pass, join(r.display, quoteKey(k)), join(join(r.vkey, vkey(r.node.pass.field)), vkey(k))}
}

// loader reads the layers of one configuration.
type loader struct {
	root ref
	file string // the conf file as given, for errors
	v    *viper.Viper
	faults
	warnings []error
	origins  origins
	// counts holds the number of tables of each array (by display path)
	// that the layers read so far have made; a layer may add the next one.
	counts map[string]int
	// keys holds the entries of each map of tables, and the passthrough
	// keys of each table (by display path), in the order they came.
	keys map[string][]string
	// passedKeys are the display paths of the passthrough keys set.
	passedKeys []string
}

func newLoader(schema *node, file string) *loader {
	return &loader{
		root:    ref{node: schema},
		file:    file,
		v:       viper.New(),
		origins: origins{},
		counts:  map[string]int{},
		keys:    map[string][]string{},
	}
}

// fault records e; the first by rank is what the load returns.
func (l *loader) fault(org Origin, key string, err error) {
	l.add(org.fault(l.file, key, err))
}

// setDefaults hands viper the value of every key of table r in val (a
// struct of r's type) as a default. Arrays and maps of tables have no
// defaults: each of their elements gets its own when a layer makes it.
func (l *loader) setDefaults(r ref, val reflect.Value) {
	for _, n := range r.node.children {
		if n.typ == nil || n.field == "" {
			continue // an alias, an ignored key, a table that only holds them
		}
		f := val.FieldByName(n.field)
		switch n.shape {
		case shapeKey:
			c := r.to(n)
			l.v.SetDefault(c.vkey, leaf{value: f.Interface(), display: c.display})
		case shapeTable:
			l.setDefaults(r.to(n), f)
		}
	}
}

// element returns table i of array r, which a layer sets from org: an
// existing one, or the next, made with its defaults.
func (l *loader) element(r ref, i int, org Origin) ref {
	e := r.at(i)
	if i == l.counts[r.display] {
		l.counts[r.display]++
		l.newTable(e, org)
	}
	return e
}

// entry returns the table keyed k of map r, made with its defaults when
// no layer has written it yet.
func (l *loader) entry(r ref, k string, org Origin) ref {
	e := r.entry(k)
	if !slices.Contains(l.keys[r.display], k) {
		l.keys[r.display] = append(l.keys[r.display], k)
		l.newTable(e, org)
	}
	return e
}

func (l *loader) newTable(e ref, org Origin) {
	val := reflect.New(e.node.typ)
	if d, ok := val.Interface().(elementDefaulter); ok {
		d.setDefaults()
	}
	l.setDefaults(e, val.Elem())
	if _, ok := l.origins[e.display]; !ok {
		l.origins[e.display] = org
	}
}

// layer collects the leaves of one layer.
type layer struct {
	l *loader
	// tree is what goes to viper's MergeConfigMap; nil for the -e layer,
	// whose leaves go to Set one by one (the last of two -e wins).
	tree map[string]any
	// set holds the leaves by display path, to find a key set twice under
	// two names (an alias) in one layer.
	set map[string]leaf
}

func (l *loader) newLayer(merged bool) *layer {
	y := &layer{l: l, set: map[string]leaf{}}
	if merged {
		y.tree = map[string]any{}
	}
	return y
}

// put sets key n of table r to raw (a TOML value or a text), from org.
func (y *layer) put(r ref, n *node, raw any, org Origin) {
	c := r.to(n)
	v, err := convert(n.kind, raw)
	if err != nil {
		y.l.fault(org, c.display, err)
		return
	}
	if n.ignored {
		return
	}
	if a := n.alias; a != nil {
		if a.translate != nil {
			if v, err = a.translate(v); err != nil {
				y.l.fault(org, c.display, err)
				return
			}
		}
		written := c.display
		c = a.target(y.l.root, r)
		org.Key = written
		if a.warn != "" {
			y.l.warnings = append(y.l.warnings, org.fault(y.l.file, written, fmt.Errorf("read as %s (%s)", c.display, a.warn)))
		}
	}
	y.store(leaf{value: v, display: c.display, origin: org}, c.vkey)
}

// pass sets key k of table r, which the table's passthrough field receives.
func (y *layer) pass(r ref, k string, raw any, org Origin) {
	c := r.passed(k)
	v, err := passthroughValue(raw)
	if err != nil {
		y.l.fault(org, c.display, err)
		return
	}
	if !slices.Contains(y.l.keys[r.display], k) {
		y.l.keys[r.display] = append(y.l.keys[r.display], k)
		y.l.passedKeys = append(y.l.passedKeys, c.display)
	}
	y.store(leaf{value: v, display: c.display, origin: org}, c.vkey)
}

func (y *layer) store(lf leaf, vk string) {
	if prev, ok := y.set[lf.display]; ok && y.tree != nil && !reflect.DeepEqual(prev.value, lf.value) {
		y.l.fault(lf.origin, nameOf(lf), fmt.Errorf("%s (%s) sets the same key to another value; keep one", nameOf(prev), prev.origin.where()))
		return
	}
	y.set[lf.display] = lf
	if y.tree == nil {
		y.l.v.Set(vk, lf)
		return
	}
	m := y.tree
	keys := strings.Split(vk, ".") // vkey leaves no dot in a part
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = lf
}

// nameOf is the key as written for a leaf.
func nameOf(lf leaf) string {
	if lf.origin.Key != "" {
		return lf.origin.Key
	}
	return lf.display
}

// merge hands a collected layer to viper, above those merged before.
func (y *layer) merge() {
	if y.tree != nil {
		_ = y.l.v.MergeConfigMap(y.tree) // it returns no error
	}
}

// decode fills out (a pointer to the schema's struct) with the winning
// leaves and records their origins.
func (l *loader) decode(out any) error {
	for _, k := range l.v.AllKeys() {
		if lf, ok := l.v.Get(k).(leaf); ok && lf.origin.Source != FromDefault {
			l.origins[lf.display] = lf.origin
		}
	}
	err := l.v.Unmarshal(out, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(unwrapLeaf, indexedToSlice, decodeMapKeys)),
		func(c *mapstructure.DecoderConfig) {
			c.TagName = tagName
			c.WeaklyTypedInput = false
			c.ErrorUnused = true
			c.MatchName = func(key, field string) bool { return unvkey(key) == field }
		})
	if err != nil {
		// Every value was checked against the schema before: this is a
		// schema the decoder reads differently, a bug.
		return &Error{File: l.file, Err: fmt.Errorf("decode the configuration: %w", err)}
	}
	return nil
}

var leafType = reflect.TypeFor[leaf]()

func unwrapLeaf(from, _ reflect.Type, data any) (any, error) {
	if from == leafType {
		return data.(leaf).value, nil
	}
	return data, nil
}

// indexedToSlice turns an array of tables, held by viper as a table keyed
// by index, back into a list.
func indexedToSlice(from, to reflect.Type, data any) (any, error) {
	m, ok := data.(map[string]any)
	if from.Kind() != reflect.Map || to.Kind() != reflect.Slice || !ok {
		return data, nil
	}
	out := make([]any, len(m))
	for k, v := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= len(m) {
			return nil, errors.New("array of tables with a gap")
		}
		out[i] = v
	}
	return out, nil
}

// decodeMapKeys gives the keys of a map of tables, or of a passthrough
// table, back their spelling.
func decodeMapKeys(from, to reflect.Type, data any) (any, error) {
	m, ok := data.(map[string]any)
	if from.Kind() != reflect.Map || to.Kind() != reflect.Map || !ok {
		return data, nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[unvkey(k)] = v
	}
	return out, nil
}

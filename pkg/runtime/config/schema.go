package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// The schema is read from the `conf` tags of Config's fields, once:
//
//	HTTPPort int `conf:"httpPort"`                  a key, by its exact TOML name
//	JWT []JWTIssuer `conf:"jwtTokenConfig"`         an array of tables, [[jwtTokenConfig]]
//	Endpoints map[string]APIEndpoints `conf:"apiEndpoints"`   a table of tables keyed by any string
//	Password string `conf:"password,secret"`      masked by --print-config
//	URL string `conf:"providerUrl,urlsecret"`     the password of its user info masked
//	Expiry time.Duration `conf:"expiry,ms"`      an integer of milliseconds (or ",s": seconds)
//	Settings map[string]any `conf:",passthrough"` the table's other keys, kept as written
//	File string `conf:"-"`                        not a key
//
// The TOML names are the WSO2 ones and case-sensitive; viper and
// mapstructure decode by the same tags (see layers.go).

// tagName is the struct tag the schema and the decoder read.
const tagName = "conf"

// shape is what a node of the schema is in the TOML document.
type shape int

const (
	shapeTable       shape = iota // [name]
	shapeArray                    // [[name]]: a list of tables
	shapeMap                      // [name."any key"]: tables keyed by any string
	shapeKey                      // name = value
	shapePassthrough              // the other keys of a table, handed on as written
)

// scalar is the type of a key's value, or of a list's items.
type scalar int

const (
	sString   scalar = iota // TOML string
	sInt                    // TOML integer
	sBool                   // TOML boolean
	sFloat                  // TOML integer or float
	sDuration               // TOML integer in the key's unit, stored as a time.Duration
)

// kind is the type a key's value must have.
type kind struct {
	scalar scalar
	list   bool          // a TOML array of scalar
	unit   time.Duration // sDuration: what one of the integer written stands for
}

func (k kind) String() string {
	if k.list {
		return "an array of " + k.scalar.plural()
	}
	switch k.scalar {
	case sInt, sDuration:
		return "an integer"
	case sBool:
		return "a boolean"
	case sFloat:
		return "a number"
	}
	return "a string"
}

func (s scalar) plural() string {
	switch s {
	case sInt, sDuration:
		return "integers"
	case sBool:
		return "booleans"
	case sFloat:
		return "numbers"
	}
	return "strings"
}

// secrecy says how --print-config shows a value.
type secrecy int

const (
	public    secrecy = iota
	secret            // never shown
	urlSecret         // shown with the password of its user info masked
)

// node is one table or key of the schema.
type node struct {
	name   string // TOML name, exact case; "" for the root
	path   string // schema path: the names from the root, joined by "."
	field  string // the Go field's name (mapstructure's key of a passthrough table)
	shape  shape
	kind   kind // shapeKey
	secret secrecy
	typ    reflect.Type

	// children of a table, in the order of the struct's fields; aliases
	// and ignored keys (wso2.go) come last.
	children []*node
	byName   map[string]*node
	// pass is the table's passthrough field, if any.
	pass *node
	// elem is the table of one element of an array or map of tables.
	elem *node

	// alias makes the key another name of alias.to (wso2.go).
	alias *alias
	// ignored keys are checked and then dropped (accepted from WSO2 confs).
	ignored bool
}

// child returns the table's child called name (exact case), or nil.
func (n *node) child(name string) *node { return n.byName[name] }

// elementDefaulter is implemented (on the pointer) by the element type of
// an array or map of tables whose keys have defaults: each new element
// starts from what setDefaults leaves.
type elementDefaulter interface{ setDefaults() }

// newSchema reads the schema of struct type t. It panics on a field it
// cannot represent: a schema is fixed at compile time, and a test loads it.
func newSchema(t reflect.Type) *node {
	root := &node{shape: shapeTable, typ: t, byName: map[string]*node{}}
	addFields(root, t)
	return root
}

func addFields(table *node, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup(tagName)
		if !f.IsExported() || tag == "-" {
			continue
		}
		if !ok {
			panic(fmt.Sprintf("config: %s.%s has no %s tag", t, f.Name, tagName))
		}
		name, opts, _ := strings.Cut(tag, ",")
		n := &node{name: name, path: join(table.path, name), field: f.Name, typ: f.Type}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "", "ms", "s":
			case "secret":
				n.secret = secret
			case "urlsecret":
				n.secret = urlSecret
			case "passthrough":
				n.shape = shapePassthrough
			default:
				panic(fmt.Sprintf("config: %s.%s: unknown tag option %q", t, f.Name, o))
			}
		}
		if n.shape == shapePassthrough {
			if f.Type != reflect.TypeFor[map[string]any]() || name != "" || table.pass != nil {
				panic(fmt.Sprintf("config: %s.%s: a passthrough is one unnamed map[string]any", t, f.Name))
			}
			table.pass = n
			continue
		}
		shapeOf(n, f.Type, opts)
		addChild(table, n)
	}
}

func addChild(table, n *node) {
	if n.name == "" || table.byName[n.name] != nil {
		panic(fmt.Sprintf("config: %q in %q is empty or given twice", n.name, table.path))
	}
	table.children = append(table.children, n)
	table.byName[n.name] = n
}

var durationType = reflect.TypeFor[time.Duration]()

func shapeOf(n *node, t reflect.Type, opts string) {
	switch {
	case t.Kind() == reflect.Struct:
		n.shape, n.byName = shapeTable, map[string]*node{}
		addFields(n, t)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		n.shape, n.elem = shapeArray, elementOf(n, t.Elem())
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.Struct:
		n.shape, n.elem = shapeMap, elementOf(n, t.Elem())
	case t.Kind() == reflect.Slice:
		n.shape, n.kind = shapeKey, kind{scalar: scalarOf(n, t.Elem(), opts), list: true}
	default:
		n.shape, n.kind = shapeKey, kind{scalar: scalarOf(n, t, opts)}
	}
	if n.kind.scalar == sDuration {
		n.kind.unit = time.Millisecond
		if strings.Contains(","+opts+",", ",s,") {
			n.kind.unit = time.Second
		}
	}
}

func elementOf(n *node, t reflect.Type) *node {
	e := &node{name: n.name, path: n.path, shape: shapeTable, typ: t, byName: map[string]*node{}}
	addFields(e, t)
	return e
}

func scalarOf(n *node, t reflect.Type, opts string) scalar {
	switch {
	case t == durationType:
		if !strings.Contains(","+opts+",", ",ms,") && !strings.Contains(","+opts+",", ",s,") {
			panic(fmt.Sprintf("config: %s: a time.Duration needs a unit option, ms or s", n.path))
		}
		return sDuration
	case t.Kind() == reflect.String:
		return sString
	case t.Kind() == reflect.Bool:
		return sBool
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return sInt
	case t.Kind() == reflect.Float64:
		return sFloat
	}
	panic(fmt.Sprintf("config: %s: type %s is not a configuration value", n.path, t))
}

// configSchema is the schema of Config, with the WSO2 names grafted on.
var configSchema = withWSO2(newSchema(reflect.TypeFor[Config]()))

// graft adds a key that is not a field (an alias or an ignored key) at the
// dotted schema path p, making the tables on the way when they are not
// fields either (b7a and b7a.log, which only hold the alias b7a.log.level).
func graft(root *node, p string, n *node) {
	parts := strings.Split(p, ".")
	t := root
	for _, name := range parts[:len(parts)-1] {
		c := t.child(name)
		if c == nil {
			c = &node{name: name, path: join(t.path, name), shape: shapeTable, byName: map[string]*node{}}
			addChild(t, c)
		}
		if c.shape == shapeArray || c.shape == shapeMap {
			c = c.elem
		}
		t = c
	}
	n.name, n.path = parts[len(parts)-1], p
	addChild(t, n)
}

// lookup returns the node at schema path p (array and map elements are
// passed through), or nil.
func lookup(root *node, p string) *node {
	n := root
	for _, name := range strings.Split(p, ".") {
		if n.elem != nil {
			n = n.elem
		}
		if n = n.child(name); n == nil {
			return nil
		}
	}
	return n
}

package config

import (
	"fmt"
	"path/filepath"
	"reflect"
)

// Sources are the layers of a configuration above the defaults, lowest
// first: the file, the environment and the -e overrides.
type Sources struct {
	// File is the micro-gw.conf to read.
	File string
	// Env is the environment (os.Environ's form) whose MGW_ variables set
	// keys (env.go); nil reads none. The gateway passes its own; tools that
	// read a gateway's conf (micro-gw revoke, token issue) pass none.
	Env []string
	// Keys names, by schema path (apiEndpoints), entries of tables keyed by
	// any string that exist without the file writing them (the base paths
	// of the APIs compiled in), so that an MGW_ variable may set them: a
	// variable's name cannot tell "/Pets" from "/pets", so it only names
	// entries known here or written in the file.
	Keys map[string][]string
	// Overrides are the -e KEY=VALUE flags, in order.
	Overrides []string
	// Claims are asked about a -e KEY that is no path of the configuration.
	Claims []OverrideClaim
}

// Load reads the micro-gw.conf at file (TOML) and applies the -e overrides
// (KEY=VALUE, KEY a dotted path such as listenerConfig.httpPort), without
// the environment layer: LoadSources with File and Overrides.
func Load(file string, overrides []string) (*Config, error) {
	return LoadSources(Sources{File: file, Overrides: overrides})
}

// LoadSources reads the layers of src over the defaults, substitutes ${ENV}
// values, resolves relative paths against the project root (the parent of
// the folder holding the file) and validates the result. Every error is an
// *Error naming the file and the key, and the line, the -e override or the
// MGW_ variable that set the bad value.
func LoadSources(src Sources) (*Config, error) {
	abs, err := filepath.Abs(src.File)
	if err != nil {
		return nil, &Error{File: src.File, Err: fmt.Errorf("resolve path: %w", err)}
	}
	data, err := readFile(abs)
	if err != nil {
		return nil, &Error{File: src.File, Err: err}
	}
	c := &Config{}
	l, err := layered(configSchema, c, Default(), src.File, data, src)
	if err != nil {
		return nil, err
	}
	v := validator{c: c, file: src.File, origins: l.origins}
	v.settlePassthrough(l)
	v.validate()
	if v.err != nil {
		return nil, v.err
	}
	c.File = abs
	c.lines = l.origins
	c.Warnings = append(l.warnings, v.warnings...)
	c.Root = filepath.Dir(filepath.Dir(abs))
	for _, p := range []*string{&c.Listener.CertFile, &c.Listener.KeyFile, &c.Listener.TrustStorePath, &c.Revocation.Persistent.SnapshotDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Root, *p)
		}
	}
	return c, nil
}

// layered reads the layers of src, over the defaults in defaults, into out:
// pointers to structs of the type of schema. file names the conf in errors;
// data is its content.
func layered(schema *node, out, defaults any, file string, data []byte, src Sources) (*loader, error) {
	l := newLoader(schema, file)
	l.setDefaults(l.root, reflect.ValueOf(defaults).Elem())
	l.fileLayer(data)
	if l.err != nil {
		return nil, l.err // the layers above may name what the file has
	}
	l.envLayer(src.Env, src.Keys)
	l.overrideLayer(src.Overrides, src.Claims)
	if l.err != nil {
		return nil, l.err
	}
	if err := l.decode(out); err != nil {
		return nil, err
	}
	return l, nil
}

// settlePassthrough turns the keys of [tokenRevocationConfig.persistent]
// that micro-gw does not read into Settings for a custom store, or into
// errors when etcd is the store.
func (v *validator) settlePassthrough(l *loader) {
	p := &v.c.Revocation.Persistent
	if !p.UseDefault {
		if p.Settings == nil {
			p.Settings = map[string]any{}
		}
		return
	}
	table := lookup(configSchema, persistentSection)
	for _, k := range l.passedKeys {
		name := k[len(persistentSection)+1:]
		if near := nearestKnown(ref{node: table, display: persistentSection}, unquote(name)); near != "" {
			v.fail(k, fmt.Errorf("%w (did you mean %s?)", ErrUnknownKey, near))
			continue
		}
		v.fail(k, fmt.Errorf("%w (custom store settings need useDefault = false)", ErrUnknownKey))
	}
}

// persistentSection is the table whose other keys reach a custom store.
const persistentSection = "tokenRevocationConfig.persistent"

// unquote is a key part as written back to its name.
func unquote(part string) string {
	if parts, err := parseKey(part); err == nil && len(parts) == 1 {
		return parts[0].name
	}
	return part
}

package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Error is a fault in a configuration: the file, the dotted key (with an
// index for [[jwtTokenConfig]] tables, e.g. jwtTokenConfig[1].issuer) and
// the line where they are known. A fault of a -e override has Line 0.
type Error struct {
	File string
	Key  string
	Line int
	Err  error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Key)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the Error of a key or section the schema does
// not know.
var ErrUnknownKey = errors.New("unknown key")

// maxFileSize bounds what Load reads: a conf is a few kilobytes, and a
// mistaken path to a large file should fail fast rather than fill memory.
const maxFileSize = 4 << 20

// Load reads the micro-gw.conf at file (TOML), applies the -e overrides
// (KEY=VALUE, KEY a dotted path such as listenerConfig.httpPort), substitutes
// ${ENV} values, resolves relative paths against the project root (the parent
// of the folder holding file) and validates the result. Every error is an
// *Error naming the file, the key and, where there is one, the line.
//
// go-toml/v2 is used directly rather than through viper: viper folds keys to
// lower case, which would make the exact, case-sensitive unknown-key check of
// the contract impossible, and it loses the line numbers.
func Load(file string, overrides []string) (*Config, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, &Error{File: file, Err: fmt.Errorf("resolve path: %w", err)}
	}
	data, err := readFile(abs)
	if err != nil {
		return nil, &Error{File: file, Err: err}
	}
	c, d, err := parse(file, data, overrides)
	if err != nil {
		return nil, err
	}
	c.File = abs
	c.lines = d.lines
	c.Root = filepath.Dir(filepath.Dir(abs))
	for _, p := range []*string{&c.Listener.CertFile, &c.Listener.KeyFile, &c.Listener.TrustStorePath} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.Root, *p)
		}
	}
	return c, nil
}

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

// decoder turns the generic TOML tree into a Config. It keeps the first
// fault by line so that the user is pointed at the top-most problem.
type decoder struct {
	file  string
	lines map[string]int
	c     *Config
	err   *Error
	// extra holds keys of [tokenRevocationConfig.persistent] the schema does
	// not know: Settings of a custom store, or errors, once useDefault is known.
	extra    map[string]any
	extraKey []string
	// overridden holds the keys (display paths) that -e set: their faults
	// are the override's, not those of the line the file has for the key.
	overridden map[string]bool
}

// fail records a fault; the one with the smallest line wins, overrides
// (line 0, no position in the file) come after file faults.
func (d *decoder) fail(key string, err error) {
	e := &Error{File: d.file, Key: key, Line: d.line(key), Err: err}
	if d.overridden[key] {
		e.Line, e.Err = 0, fmt.Errorf("-e override: %w", err)
	}
	if d.err == nil || rank(e.Line) < rank(d.err.Line) {
		d.err = e
	}
}

func rank(line int) int {
	if line == 0 {
		return math.MaxInt
	}
	return line
}

func (d *decoder) line(key string) int { return lineOf(d.lines, key) }

// lineOf returns the line of key, or of its closest enclosing table.
func lineOf(lines map[string]int, key string) int {
	for k := key; k != ""; {
		if n, ok := lines[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func parse(file string, data []byte, overrides []string) (*Config, *decoder, error) {
	tree := map[string]any{}
	if err := toml.Unmarshal(data, &tree); err != nil {
		e := &Error{File: file, Err: fmt.Errorf("invalid TOML: %w", err)}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			e.Line, _ = de.Position()
			e.Key = strings.Join(de.Key(), ".")
		}
		return nil, nil, e
	}
	d := &decoder{file: file, lines: indexLines(data), c: Default(), extra: map[string]any{}, overridden: map[string]bool{}}
	// Tables the file writes replace the default issuer; a file that writes
	// none is refused by validate, as the contract requires one.
	d.c.JWT = nil
	for _, o := range overrides {
		if err := applyOverride(tree, o); err != nil {
			return nil, nil, err.withFile(file)
		}
		key, _, _ := strings.Cut(o, "=")
		d.overridden[strings.TrimSpace(key)] = true
	}
	d.walk(tree, "", "", -1)
	d.settleExtra()
	if d.err != nil {
		return nil, nil, d.err
	}
	if err := d.validate(); err != nil {
		return nil, nil, err
	}
	return d.c, d, nil
}

// walk decodes tree, the table at schema path prefix (display path shown in
// errors, which adds [i] to array tables); idx is the [[jwtTokenConfig]] index.
func (d *decoder) walk(tree map[string]any, prefix, shown string, idx int) {
	for _, key := range sortedKeys(tree) {
		val := tree[key]
		path, disp := join(prefix, key), join(shown, key)
		switch {
		case arrayTables[path]:
			list, ok := val.([]any)
			if !ok {
				d.fail(disp, errors.New("must be a list of tables, written [["+path+"]]"))
				continue
			}
			for i, item := range list {
				t, ok := item.(map[string]any)
				if !ok {
					d.fail(disp, errors.New("must be a list of tables, written [["+path+"]]"))
					break
				}
				d.c.JWT = append(d.c.JWT, JWTIssuer{})
				d.walk(t, path, fmt.Sprintf("%s[%d]", disp, i), len(d.c.JWT)-1)
			}
		case tables[path]:
			t, ok := val.(map[string]any)
			if !ok {
				d.fail(disp, errors.New("must be a table, written ["+path+"]"))
				continue
			}
			d.walk(t, path, disp, idx)
		default:
			f, ok := fields[path]
			if !ok {
				if prefix == persistentSection {
					d.extra[key] = val
					d.extraKey = append(d.extraKey, disp)
					continue
				}
				d.fail(disp, unknownKeyError(path))
				continue
			}
			v, err := convert(f.kind, val)
			if err != nil {
				d.fail(disp, err)
				continue
			}
			f.set(d.c, idx, v)
		}
	}
}

// settleExtra turns the unknown keys of [tokenRevocationConfig.persistent]
// into Settings for a custom store, or into errors when etcd is the store.
func (d *decoder) settleExtra() {
	p := &d.c.Revocation.Persistent
	if p.UseDefault {
		for _, k := range d.extraKey {
			if near := nearestKnown(k); near != "" {
				d.fail(k, fmt.Errorf("%w (did you mean %s?)", ErrUnknownKey, near))
				continue
			}
			d.fail(k, fmt.Errorf("%w (custom store settings need useDefault = false)", ErrUnknownKey))
		}
		return
	}
	p.Settings = make(map[string]any, len(d.extra))
	for i, k := range d.extraKey {
		name := k[len(persistentSection)+1:]
		v, err := expandAny(d.extra[name])
		if err != nil {
			d.fail(d.extraKey[i], err)
			continue
		}
		p.Settings[name] = v
	}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// text is a value given as text on the command line (-e), converted to the
// key's kind like a TOML value written "${ENV}".
type text string

// convert checks v against kind and returns it as the Go type set expects.
// A string may stand for any kind when it holds a ${ENV} reference, since the
// environment only has text.
func convert(k kind, v any) (any, error) {
	var s string
	fromText := false
	switch x := v.(type) {
	case text:
		s, fromText = string(x), true
	case string:
		s = x
		fromText = strings.Contains(x, "${")
	}
	if s != "" || fromText {
		var err error
		if s, err = expandEnv(s); err != nil {
			return nil, err
		}
	}
	if k == kString {
		if _, ok := v.(string); ok || fromText {
			return s, nil
		}
		return nil, typeError(k, v)
	}
	if _, isStr := v.(string); isStr && !fromText {
		return nil, typeError(k, v)
	}
	if fromText {
		return parseText(k, s)
	}
	switch k {
	case kInt:
		if n, ok := v.(int64); ok && n >= math.MinInt && n <= math.MaxInt {
			return int(n), nil
		}
	case kMillis:
		if n, ok := v.(int64); ok {
			return millis(n)
		}
	case kBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kNumber:
		switch n := v.(type) {
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
	case kStrings:
		list, ok := v.([]any)
		if !ok {
			break
		}
		out := make([]string, 0, len(list))
		for _, item := range list {
			s, ok := item.(string)
			if !ok {
				return nil, typeError(k, v)
			}
			s, err := expandEnv(s)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, typeError(k, v)
}

func millis(n int64) (any, error) {
	if n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
		return nil, fmt.Errorf("%d milliseconds is out of range", n)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// errNotKind is the error for text that is not of kind k. The text is not
// shown: it may come from a secret in the environment.
func errNotKind(k kind) error {
	return fmt.Errorf("must be %s (the value is not shown: it may be a secret)", k)
}

// parseText converts text (from -e or the environment) to kind k.
func parseText(k kind, s string) (any, error) {
	s = strings.TrimSpace(s)
	switch k {
	case kInt:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, errNotKind(k)
		}
		return n, nil
	case kMillis:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errNotKind(k)
		}
		return millis(n)
	case kBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errNotKind(k)
		}
		return b, nil
	case kNumber:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errNotKind(k)
		}
		return f, nil
	case kStrings:
		if s == "" {
			return []string{}, nil
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	return s, nil
}

// typeError names the kind wanted and the TOML type found, never the value:
// a mistyped value may be a secret.
func typeError(k kind, v any) error {
	return fmt.Errorf("must be %s, not %s", k, tomlType(v))
}

func tomlType(v any) string {
	switch v.(type) {
	case string, text:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

// expandEnv replaces each ${NAME} in s with the variable's value; $${ stands
// for a literal ${. An unset variable is an error: silently using "" would
// start a gateway with, say, an empty broker password.
func expandEnv(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ in value")
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid environment variable name %q", name)
		}
		val, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// expandAny substitutes ${ENV} in the strings of a custom store's setting.
func expandAny(v any) (any, error) {
	switch x := v.(type) {
	case text:
		return expandEnv(string(x))
	case string:
		return expandEnv(x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			e, err := expandAny(item)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			e, err := expandAny(item)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	return v, nil
}

// overrideError is an Error whose file is filled in by parse.
type overrideError struct {
	key string
	err error
}

func (o *overrideError) withFile(file string) *Error {
	return &Error{File: file, Key: o.key, Err: fmt.Errorf("-e override: %w", o.err)}
}

// applyOverride sets KEY=VALUE into the TOML tree before decoding, so that an
// override is checked exactly as a value in the file would be. KEY is dotted;
// a [[jwtTokenConfig]] table is addressed by index: jwtTokenConfig[0].issuer.
func applyOverride(tree map[string]any, o string) *overrideError {
	key, val, ok := strings.Cut(o, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		// Only the key part may be shown: the value may be a secret.
		return &overrideError{key: key, err: errors.New("must be KEY=VALUE")}
	}
	parts := strings.Split(key, ".")
	schema := make([]string, 0, len(parts))
	node := tree
	for i, part := range parts {
		name, index, hasIndex, err := splitIndex(part)
		if err != nil {
			return &overrideError{key: key, err: err}
		}
		schema = append(schema, name)
		path := strings.Join(schema, ".")
		last := i == len(parts)-1
		if last {
			_, known := fields[path]
			if hasIndex || (!known && strings.Join(schema[:len(schema)-1], ".") != persistentSection) {
				return &overrideError{key: key, err: unknownKeyError(path)}
			}
			// Kept as text: convert parses it for the key's kind (a comma
			// list for arrays) after ${ENV} substitution.
			node[name] = text(val)
			return nil
		}
		switch {
		case arrayTables[path]:
			if !hasIndex {
				return &overrideError{key: key, err: fmt.Errorf("%s is a list of tables: give an index, as in %s[0]", path, path)}
			}
			list, _ := node[name].([]any)
			if index > len(list) {
				return &overrideError{key: key, err: fmt.Errorf("index %d out of range: %d [[%s]] table(s), the next one may be added", index, len(list), path)}
			}
			if index == len(list) {
				list = append(list, map[string]any{})
				node[name] = list
			}
			t, ok := list[index].(map[string]any)
			if !ok {
				return &overrideError{key: key, err: fmt.Errorf("%s is not a table", path)}
			}
			node = t
		case tables[path] && !hasIndex:
			t, ok := node[name].(map[string]any)
			if !ok {
				if _, exists := node[name]; exists {
					return &overrideError{key: key, err: fmt.Errorf("%s is not a table", path)}
				}
				t = map[string]any{}
				node[name] = t
			}
			node = t
		default:
			return &overrideError{key: key, err: unknownKeyError(path)}
		}
	}
	return nil
}

// splitIndex splits "name[3]" into name and 3.
func splitIndex(part string) (name string, index int, hasIndex bool, err error) {
	open := strings.IndexByte(part, '[')
	if open < 0 {
		return part, 0, false, nil
	}
	if !strings.HasSuffix(part, "]") {
		return "", 0, false, fmt.Errorf("bad index in %q", part)
	}
	n, err := strconv.Atoi(part[open+1 : len(part)-1])
	if err != nil || n < 0 {
		return "", 0, false, fmt.Errorf("bad index in %q", part)
	}
	return part[:open], n, true, nil
}

// sortedKeys is used where the order of a map must not show in results.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package config

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// mask stands for a secret in what Print writes.
const mask = "********"

// Print writes the configuration in effect (--print-config) as TOML, every
// key with its value and, after it, where the value came from: default, the
// file and line, an MGW_ variable or -e. The values of keys tagged secret
// are masked, and the password in the user info of urlsecret ones; of a
// custom store's settings, those whose name says password, passwd, secret or
// credential, or ends in token or key.
func (c *Config) Print(w io.Writer) error {
	return printConfig(w, configSchema, c, c.File, c.lines, c.Warnings)
}

// printConfig writes v, a pointer to a struct of schema's type, read from
// file; see Print.
func printConfig(w io.Writer, schema *node, v any, file string, o origins, warnings []error) error {
	p := printer{file: file, origins: o}
	fmt.Fprintf(&p.b, "# The configuration in effect for %s.\n", file)
	p.b.WriteString("# After each value, where it was set: default, the file and line, an MGW_ variable or -e.\n")
	p.b.WriteString("# Secrets are masked (" + mask + ").\n")
	for _, w := range warnings {
		fmt.Fprintf(&p.b, "# warning: %v\n", w)
	}
	p.table(ref{node: schema}, reflect.ValueOf(v).Elem(), "")
	_, err := w.Write(p.b.Bytes())
	return err
}

type printer struct {
	b       bytes.Buffer
	file    string
	origins origins
}

type printLine struct{ kv, from string }

// table writes the keys of table r (value v) under header, then its tables.
func (p *printer) table(r ref, v reflect.Value, header string) {
	var lines []printLine
	for _, n := range r.node.children {
		if n.shape == shapeKey && n.field != "" {
			c, f := r.to(n), v.FieldByName(n.field)
			kv := quoteKey(n.name) + " = " + formatValue(n, f)
			if n.kind.list && f.IsNil() {
				// Not set is not the empty list (sandbox = [] takes an
				// endpoint away): a comment, so that it reads back unset.
				kv = "# " + quoteKey(n.name) + " is not set"
			}
			lines = append(lines, printLine{kv, p.from(c.display)})
		}
	}
	if pass := r.node.pass; pass != nil {
		settings := v.FieldByName(pass.field)
		for _, k := range sortedKeys(settings.Interface().(map[string]any)) {
			val := inlineTOML(settings.Interface().(map[string]any)[k])
			if secretName(k) {
				val = `"` + mask + `"`
			}
			lines = append(lines, printLine{quoteKey(k) + " = " + val, p.from(r.passed(k).display)})
		}
	}
	if header != "" && (len(lines) > 0 || strings.HasPrefix(header, "[[")) {
		if p.b.Len() > 0 {
			p.b.WriteByte('\n')
		}
		p.b.WriteString(header + "\n")
	}
	width := 0
	for _, l := range lines {
		width = max(width, min(len(l.kv), 56))
	}
	for _, l := range lines {
		fmt.Fprintf(&p.b, "%-*s  # %s\n", width, l.kv, l.from)
	}
	for _, n := range r.node.children {
		if n.field == "" {
			continue // a table that only holds aliases
		}
		c, f := r.to(n), v.FieldByName(n.field)
		switch n.shape {
		case shapeTable:
			p.table(c, f, "["+c.display+"]")
		case shapeArray:
			for i := range f.Len() {
				p.table(c.at(i), f.Index(i), "[["+c.display+"]]")
			}
		case shapeMap:
			keys := make([]string, 0, f.Len())
			for _, k := range f.MapKeys() {
				keys = append(keys, k.String())
			}
			slices.Sort(keys)
			for _, k := range keys {
				e := c.entry(k)
				p.table(e, f.MapIndex(reflect.ValueOf(k).Convert(f.Type().Key())), "["+e.display+"]")
			}
		}
	}
}

// from says where the value of key came from.
func (p *printer) from(key string) string {
	if o, ok := p.origins[key]; ok {
		return o.describe(p.file)
	}
	return "default"
}

// formatValue writes the value v of key n in TOML, masked as n is tagged.
func formatValue(n *node, v reflect.Value) string {
	switch {
	case n.secret == secret && !v.IsZero():
		return `"` + mask + `"`
	case n.secret == urlSecret && v.Kind() == reflect.String:
		return inlineTOML(maskURL(v.String()))
	case n.secret == urlSecret:
		urls := make([]any, v.Len())
		for i := range urls {
			urls[i] = maskURL(v.Index(i).String())
		}
		return inlineTOML(urls)
	case n.kind.scalar == sDuration && n.kind.list:
		ns := make([]any, v.Len())
		for i := range ns {
			ns[i] = int64(v.Index(i).Interface().(time.Duration) / n.kind.unit)
		}
		return inlineTOML(ns)
	case n.kind.scalar == sDuration:
		return strconv.FormatInt(int64(v.Interface().(time.Duration)/n.kind.unit), 10)
	}
	return inlineTOML(v.Interface())
}

// maskURL hides the password of a URL's user info, leaving the rest as
// written; a value with none is left as it is.
func maskURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return s
	}
	return scheme + "://" + user + ":" + mask + rest[at:]
}

// secretName reports whether a custom store's setting is likely a secret.
func secretName(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "secret", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return strings.HasSuffix(k, "token") || strings.HasSuffix(k, "key")
}

// inlineTOML writes v as a TOML value on one line. A value in effect holds
// no ${NAME} reference any more: a "${" in it is written "$${", so that the
// output loads to the same value.
func inlineTOML(v any) string {
	var b bytes.Buffer
	enc := toml.NewEncoder(&b)
	enc.SetTablesInline(true)
	enc.SetArraysMultiline(false)
	if err := enc.Encode(map[string]any{"v": escapeRefs(v)}); err != nil {
		return fmt.Sprintf("%q", fmt.Sprint(v))
	}
	return strings.TrimSpace(strings.TrimPrefix(b.String(), "v = "))
}

// escapeRefs writes "${" as "$${" in the strings of v.
func escapeRefs(v any) any {
	out, _ := mapStrings(v, func(s string) (string, error) { return strings.ReplaceAll(s, "${", "$${"), nil })
	return out
}

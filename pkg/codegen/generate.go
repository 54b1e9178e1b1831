package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/templates"
)

// Names of the generated files; an extension is copied as extPrefix+name.
const (
	mainFile  = "main.go"
	extPrefix = "ext_"
)

var mainTemplate = template.Must(template.New("main.go.tmpl").Funcs(template.FuncMap{
	// Every string of a definition is untrusted: it reaches the source only
	// as a Go string literal.
	"quote":   strconv.Quote,
	"strings": func(list []string) string { return sliceLiteral("[]string", list, strconv.Quote) },
	"ints":    func(list []int) string { return sliceLiteral("[]int", list, strconv.Itoa) },
	"millis": func(d time.Duration) string {
		if d%time.Millisecond != 0 {
			return "time.Duration(" + strconv.FormatInt(int64(d), 10) + ")"
		}
		return strconv.FormatInt(d.Milliseconds(), 10) + " * time.Millisecond"
	},
	"float":    func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
	"policies": policiesSource,
}).ParseFS(templates.Gen, "gen/main.go.tmpl"))

// sliceLiteral writes list as a Go composite literal of type typ, each
// element by lit; nil as nil.
func sliceLiteral[T any](typ string, list []T, lit func(T) string) string {
	if list == nil {
		return "nil"
	}
	q := make([]string, len(list))
	for i, v := range list {
		q[i] = lit(v)
	}
	return typ + "{" + strings.Join(q, ", ") + "}"
}

// MainSource returns the formatted Go source of the generated main package's
// main.go: the Spec literal and func main calling runtime.Main.
func MainSource(spec runtime.Spec) ([]byte, error) {
	var buf bytes.Buffer
	data := struct {
		Spec     runtime.Spec
		UsesTime bool // an endpoint has a duration: the source imports time
	}{spec, usesTime(spec)}
	if err := mainTemplate.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("generate main.go: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format generated main.go: %w", err)
	}
	return src, nil
}

// usesTime reports whether an endpoint of spec has a timeout or a retry
// interval, or spec has a throttling policy, which the source writes with
// package time.
func usesTime(spec runtime.Spec) bool {
	if !spec.Policies.Empty() {
		return true
	}
	timed := func(ep *runtime.Endpoint) bool {
		return ep != nil && (ep.Timeout != 0 || ep.Retry != nil && (ep.Retry.Interval != 0 || ep.Retry.MaxInterval != 0))
	}
	for _, api := range spec.APIs {
		if timed(api.Production) || timed(api.Sandbox) {
			return true
		}
		for _, r := range api.Resources {
			if timed(r.Production) || timed(r.Sandbox) {
				return true
			}
		}
	}
	return false
}

// Package is the generated main package of one gateway.
type Package struct {
	// Dir is the folder the package is written to; its *.go files, go.mod
	// and go.sum are replaced.
	Dir  string
	Spec runtime.Spec
	// Extensions are the absolute paths of the project's extensions/*.go.
	Extensions []string
	// GoMod and GoSum are the generated module's go.mod and go.sum
	// (see GoMod).
	GoMod, GoSum []byte
}

// Write writes the package: main.go, go.mod, go.sum and every extension as
// ext_<name>, its first line a //line directive naming the original file so
// that the compiler reports the project's file and line. Files of an
// earlier generation that are no longer wanted are removed.
func (p Package) Write() error {
	files := map[string][]byte{"go.mod": p.GoMod, "go.sum": p.GoSum}
	src, err := MainSource(p.Spec)
	if err != nil {
		return err
	}
	files[mainFile] = src
	for _, ext := range p.Extensions {
		data, err := os.ReadFile(ext)
		if err != nil {
			return fmt.Errorf("read extension: %w", err)
		}
		files[extPrefix+filepath.Base(ext)] = extensionSource(ext, data)
	}

	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return fmt.Errorf("make generated package folder: %w", err)
	}
	old, err := os.ReadDir(p.Dir)
	if err != nil {
		return fmt.Errorf("read generated package folder: %w", err)
	}
	for _, e := range old {
		if _, keep := files[e.Name()]; !keep && !e.IsDir() {
			if err := os.Remove(filepath.Join(p.Dir, e.Name())); err != nil {
				return fmt.Errorf("remove stale generated file: %w", err)
			}
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(p.Dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write generated package: %w", err)
		}
	}
	return nil
}

// extensionSource is the copy of the extension file at path: its content
// after a //line directive that gives the compiler the original's name,
// as the project names it (extensions/NAME.go), and line numbers. The name
// is relative so that nothing of where the project sits on disk goes into
// the executable: two checkouts of one project build the same bytes (and
// the same image digest, docs/deploy.md). MapCompilerOutput maps it back.
func extensionSource(path string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "//line %s:1:1\n", extLineName(path))
	b.Write(data)
	return b.Bytes()
}

// extLineName is the name the //line directive of the extension at path
// gives it.
func extLineName(path string) string { return "extensions/" + filepath.Base(path) }

package codegen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// hostile are strings a definition could carry to break out of a string
// literal or a comment of the generated source.
var hostile = []string{
	"\"}; func init() { panic(1) }; var _ = struct{}{\"",
	"`raw` */ /* \\ \n\r\t\x00 \u2028",
	"ünïcødé \xff invalid utf-8",
}

func TestMainSourceQuotesEverything(t *testing.T) {
	spec := runtime.Spec{Name: hostile[0], Version: hostile[1], APIs: []runtime.API{{
		Title: hostile[0], Version: hostile[1], Source: hostile[2], BasePath: "/p",
		Production: &runtime.Endpoint{URLs: []string{hostile[1]}, Type: hostile[2]},
		AuthHeader: hostile[1], Transports: hostile,
		CORS: &runtime.CORS{Enabled: true, AllowOrigins: hostile, AllowHeaders: hostile, AllowMethods: hostile},
		Resources: []runtime.Resource{{
			Method: "GET", Path: hostile[2], OperationID: hostile[0], Secured: true,
			Scopes: hostile, ThrottlingTier: hostile[1],
			Sandbox: &runtime.Endpoint{Name: hostile[2], URLs: hostile, Type: "failover", Basic: &runtime.BasicAuth{Username: hostile[0], Password: hostile[1]}},
		}, {
			Method: "POST", Path: hostile[1], Secured: true,
			Security: []runtime.Requirement{
				{Schemes: []runtime.Scheme{{Kind: hostile[0], In: hostile[1], Name: hostile[2], Scopes: hostile}}},
				{Schemes: []runtime.Scheme{{Kind: runtime.SchemeMutualTLS}, {Kind: runtime.SchemeBasic, Scopes: hostile}}},
			},
		}},
	}}}
	src, err := MainSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	file, err := parser.ParseFile(token.NewFileSet(), "main.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("generated source does not parse: %v\n%s", err, src)
	}
	// Exactly the two declarations of the template: var spec and func main.
	var decls []string
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok != token.IMPORT {
				decls = append(decls, d.Tok.String())
			}
		case *ast.FuncDecl:
			decls = append(decls, "func "+d.Name.Name)
		}
	}
	if strings.Join(decls, ",") != "var,func main" {
		t.Errorf("declarations %v, want var spec and func main", decls)
	}
	// Every hostile string comes back as a literal, unchanged.
	found := map[string]int{}
	ast.Inspect(file, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Errorf("literal %s: %v", lit.Value, err)
			}
			found[s]++
		}
		return true
	})
	for _, h := range hostile {
		if found[h] == 0 {
			t.Errorf("%q is not a literal of the generated source", h)
		}
	}
}

func TestMainSourceShape(t *testing.T) {
	src, err := MainSource(runtime.Spec{Name: "petstore", Version: "v1", APIs: []runtime.API{{
		BasePath: "/petstore/v1", Production: &runtime.Endpoint{URLs: []string{"https://h/v2"}, Type: "load_balance"},
		AuthHeader: "X-Token", Transports: []string{"https"},
		CORS:      &runtime.CORS{Enabled: true, AllowOrigins: []string{"*"}, AllowCredentials: true, AllowMethods: []string{"GET"}},
		Resources: []runtime.Resource{{Method: "GET", Path: "/pet/{petId}", Secured: true, Scopes: []string{"read"}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"github.com/micro-gw/micro-gw/pkg/runtime"`,
		`var spec = runtime.Spec{`,
		`BasePath:   "/petstore/v1",`,
		`Production: &runtime.Endpoint{URLs: []string{"https://h/v2"}, Type: "load_balance"},`,
		`Scopes:         []string{"read"},`,
		`AuthHeader: "X-Token",`,
		`Transports: []string{"https"},`,
		`CORS: &runtime.CORS{Enabled: true, AllowOrigins: []string{"*"}, AllowCredentials: true,` + "\n\t\t\t\tAllowHeaders: nil, AllowMethods: []string{\"GET\"}},",
		`func main() { os.Exit(runtime.Main(spec, os.Args[1:])) }`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated main.go lacks %s:\n%s", want, src)
		}
	}
}

// An endpoint's timeout and retry policy are written with package time,
// which is imported only then.
func TestMainSourceEndpointConfig(t *testing.T) {
	plain := runtime.Spec{Name: "p", APIs: []runtime.API{{BasePath: "/p", Production: &runtime.Endpoint{URLs: []string{"http://h"}, Type: "failover"}}}}
	src, err := MainSource(plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(src), `"time"`) {
		t.Errorf("time imported without a duration:\n%s", src)
	}
	timed := plain
	timed.APIs = []runtime.API{{BasePath: "/p", Resources: []runtime.Resource{{Method: "GET", Path: "/a",
		Sandbox: &runtime.Endpoint{URLs: []string{"http://h"}, Type: "failover", Timeout: 1500 * time.Millisecond,
			Retry: &runtime.Retry{Count: 2, StatusCodes: []int{502, 504}, Interval: 100 * time.Millisecond, BackOffFactor: 1.5, MaxInterval: time.Second}},
	}}}}
	named := plain
	named.APIs = []runtime.API{{BasePath: "/p", Production: &runtime.Endpoint{Name: "main", URLs: []string{"http://h"}, Type: "failover",
		Basic: &runtime.BasicAuth{Username: "gw", Password: "${PW}"}}}}
	if src, err = MainSource(named); err != nil {
		t.Fatal(err)
	}
	if want := `&runtime.Endpoint{Name: "main", URLs: []string{"http://h"}, Type: "failover", Basic: &runtime.BasicAuth{Username: "gw", Password: "${PW}"}},`; !strings.Contains(string(src), want) {
		t.Errorf("generated main.go lacks %s:\n%s", want, src)
	}
	if src, err = MainSource(timed); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\t\"time\"\n",
		`Sandbox:        &runtime.Endpoint{URLs: []string{"http://h"}, Type: "failover", Timeout: 1500 * time.Millisecond, Retry: &runtime.Retry{Count: 2, StatusCodes: []int{502, 504}, Interval: 100 * time.Millisecond, BackOffFactor: 1.5, MaxInterval: 1000 * time.Millisecond}},`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated main.go lacks %s:\n%s", want, src)
		}
	}
	if _, err := parser.ParseFile(token.NewFileSet(), "main.go", src, 0); err != nil {
		t.Errorf("does not parse: %v", err)
	}
}

func TestGoMod(t *testing.T) {
	toolkit := "module github.com/micro-gw/micro-gw\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/spf13/cobra v1.10.2 // indirect\n)\n"
	got, err := GoMod([]byte(toolkit), "Pet Store!", "/cache dir/src/abc")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"module microgw.gen/pet-store\n",
		"go 1.26.0\n",
		"\tgithub.com/spf13/cobra v1.10.2 // indirect\n",
		"require github.com/micro-gw/micro-gw v0.0.0\n",
		"replace github.com/micro-gw/micro-gw => \"/cache dir/src/abc\"\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "module github.com/micro-gw/micro-gw") {
		t.Errorf("go.mod keeps the toolkit's module line:\n%s", got)
	}
	if _, err := GoMod([]byte("go 1.26.0\n"), "x", "/s"); err == nil {
		t.Error("a go.mod without a module line is accepted")
	}

	// The go command reads it as written.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), got, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goBin, "mod", "edit", "-json", filepath.Join(dir, "go.mod")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"New": {`) || !strings.Contains(string(out), `"Path": "/cache dir/src/abc"`) {
		t.Errorf("go mod edit -json: %v\n%s", err, out)
	}
}

// TestCompilerErrorsNameTheExtension compiles a small module whose extension
// copy does not compile, and checks that the message names the project's
// file and line.
func TestCompilerErrorsNameTheExtension(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root := t.TempDir()
	ext := filepath.Join(root, "petstore", "extensions", "broken.go")
	gen := filepath.Join(root, "gen")
	for _, d := range []string{filepath.Dir(ext), gen} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	extSrc := "package main\n\nfunc helper() int {\n\treturn undefinedThing\n}\n"
	files := map[string][]byte{
		ext:                                   []byte(extSrc),
		filepath.Join(gen, "go.mod"):          []byte("module microgw.gen/t\n\ngo 1.26.0\n"),
		filepath.Join(gen, "main.go"):         []byte("package main\n\nfunc main() { helper() }\n"),
		filepath.Join(gen, "ext_broken.go"):   extensionSource(ext, []byte(extSrc)),
		filepath.Join(gen, "ext_unmapped.go"): []byte("package main\n\nvar x int = \"s\"\n"),
	}
	for p, data := range files {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &GoTool{Path: goBin, Env: append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), Log: discard}
	_, err = g.Run(t.Context(), gen, "build", "-o", filepath.Join(root, "out"), ".")
	goErr, ok := err.(*GoError)
	if !ok {
		t.Fatalf("go build: %v, want a *GoError", err)
	}
	// ext_unmapped.go stands for a copy whose //line was lost: mapped by name.
	exts := []string{ext, filepath.Join(root, "petstore", "extensions", "unmapped.go")}
	display := func(p string) string { r, _ := filepath.Rel(root, p); return r }
	got := MapCompilerOutput(goErr.Output, gen, exts, display)
	for _, want := range []string{
		filepath.Join("petstore", "extensions", "broken.go") + ":4:9: undefined: undefinedThing",
		filepath.Join("petstore", "extensions", "unmapped.go") + ":2:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("mapped output lacks %q:\n%s\n(raw:\n%s)", want, got, goErr.Output)
		}
	}
	if strings.Contains(got, "microgw.gen") || strings.Contains(got, "ext_") {
		t.Errorf("mapped output names generated files:\n%s", got)
	}
}

package build

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	microgw "github.com/micro-gw/micro-gw"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/project"
)

func TestNewCmdBuildFlags(t *testing.T) {
	tests := []struct {
		args []string
		want BuildOptions
	}{
		{[]string{"pets"}, BuildOptions{Project: "pets", Timeout: defaultTimeout}},
		{[]string{"dir/pets", "--offline", "--goos", "linux", "--goarch", "arm64", "--keep-source", "-v", "--timeout", "2m"},
			BuildOptions{Project: "dir/pets", Offline: true, GOOS: "linux", GOARCH: "arm64", KeepSource: true, Verbose: true, Timeout: 2 * time.Minute}},
		{[]string{"pets", "--image", "r.example/pets:1", "--push", "--kubernetes", "-d", "conf/deployment-config.toml"},
			BuildOptions{Project: "pets", Timeout: defaultTimeout, Image: "r.example/pets:1", Push: true, Kubernetes: true,
				DeploymentConfig: "conf/deployment-config.toml"}},
	}
	for _, tt := range tests {
		var got *BuildOptions
		cmd := NewCmdBuild(&factory.Factory{Version: "v1"}, func(o *BuildOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got.Version != "v1" || got.Source == nil || got.LookPath == nil || got.CacheDir == nil || got.Environ == nil ||
			got.Keychain == nil || got.Getenv == nil {
			t.Errorf("%v: dependencies not set: %+v", tt.args, got)
		}
		got.Out, got.ErrOut, got.Getwd, got.Environ, got.LookPath, got.CacheDir, got.Source, got.Version = nil, nil, nil, nil, nil, nil, nil, ""
		got.Keychain, got.Getenv = nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestGenDir(t *testing.T) {
	if got := display("/w", "/w/pets/api_definitions/a.yaml"); got != "pets/api_definitions/a.yaml" {
		t.Errorf("display below wd: %s", got)
	}
	if got := display("/w", "/elsewhere/a.yaml"); got != "/elsewhere/a.yaml" {
		t.Errorf("display outside wd: %s", got)
	}
}

// fakeGoScript stands in for the go command: it answers `go env GOVERSION`,
// records every call's arguments and environment, and on `go build` writes
// the -o file, or fails with a compiler message when the package holds
// ext_broken.go, naming the file of its //line directive as the compiler does.
const fakeGoScript = `#!/bin/sh
echo "$@" >> "$FAKEGO_LOG"
env | grep -E '^(GOPROXY|GOOS|GOARCH|GOWORK|GOTOOLCHAIN|CGO_ENABLED)=' | sort >> "$FAKEGO_LOG"
if [ "$1" = env ]; then echo go1.26.8; exit 0; fi
if [ -f ext_broken.go ]; then echo "$(sed -n '1s|^//line \(.*\):1:1$|\1|p' ext_broken.go):4:9: undefined: x" >&2; exit 1; fi
while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo gateway > "$2"; fi; shift; done
`

// fakeBuild is a project "pets" in a temporary folder with definition def,
// and the options of a build of it by a fake go command that logs its calls
// to goLog.
type fakeBuild struct {
	wd, goLog   string
	p           project.Project
	out, errOut bytes.Buffer
	opts        *BuildOptions
}

func newFakeBuild(t *testing.T, def string) *fakeBuild {
	t.Helper()
	b := &fakeBuild{wd: t.TempDir()}
	b.p = project.New(b.wd, "pets")
	if err := project.Scaffold(b.p, project.ScaffoldOptions{Definitions: []string{def}}); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGoScript), 0o755); err != nil {
		t.Fatal(err)
	}
	b.goLog = filepath.Join(bin, "log")
	b.opts = &BuildOptions{
		Out: &b.out, ErrOut: &b.errOut,
		Getwd:    func() (string, error) { return b.wd, nil },
		Environ:  func() []string { return []string{"FAKEGO_LOG=" + b.goLog, "PATH=/usr/bin:/bin"} },
		LookPath: func(string) (string, error) { return filepath.Join(bin, "go"), nil },
		CacheDir: func() (string, error) { return filepath.Join(b.wd, "cache"), nil },
		Source:   microgw.Source,
		Version:  "v1.2.3",
		Project:  "pets", Offline: true, GOOS: "linux", GOARCH: "arm64",
	}
	return b
}

func TestBuildRun(t *testing.T) {
	b := newFakeBuild(t, "../../../samples/petstore_basic.yaml")
	wd, p, goLog, opts := b.wd, b.p, b.goLog, b.opts
	out, errOut := &b.out, &b.errOut
	if err := buildRun(t.Context(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	exe := filepath.Join(wd, "pets", "target", "pets")
	durations := regexp.MustCompile(`\(\d[^)]*\)`)
	want := `Loading API definitions
	pets/api_definitions/petstore_basic.yaml: "Swagger Petstore" 1.0.0 at /petstore/v1, 3 resources
	Loading API definitions done (D)
Generating source
	Generating source done (D)
Compiling source
	Compiling source done (D)
Generating executable
	Generating executable done (D)
	` + exe + `
BUILD SUCCESSFUL (D)
`
	if got := durations.ReplaceAllString(out.String(), "(D)"); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
	if data, err := os.ReadFile(exe); err != nil || string(data) != "gateway\n" {
		t.Errorf("executable: %q %v", data, err)
	}
	calls, _ := os.ReadFile(goLog)
	for _, want := range []string{
		"env GOVERSION",
		"build -trimpath -buildvcs=false -ldflags=-s -w -mod=mod -o " + filepath.Join(wd, "pets", "target", ".pets-"),
		"CGO_ENABLED=0", "GOARCH=arm64", "GOOS=linux", "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off",
	} {
		if !strings.Contains(string(calls), want) {
			t.Errorf("go calls lack %q:\n%s", want, calls)
		}
	}
	gen := genDir(p, filepath.Join(wd, "cache", "micro-gw"), false)
	if _, err := os.Stat(filepath.Join(gen, "main.go")); err != nil {
		t.Errorf("no generated main.go in the cache: %v", err)
	}

	// The cache keeps what a later build reuses: this project's folder, not
	// the folder of a project that is gone.
	orphan := filepath.Join(wd, "cache", "micro-gw", "gen", "gone-123")
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := codegen.MarkGenDir(orphan, filepath.Join(wd, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := buildRun(t.Context(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if _, err := os.Stat(orphan); err == nil {
		t.Error("the generated source of a project that is gone is still in the cache")
	}
	if _, err := os.Stat(filepath.Join(gen, "main.go")); err != nil {
		t.Errorf("a build removed its own generated source: %v", err)
	}

	// A target/gen left by an earlier --keep-source build is named, since
	// it no longer is what the executable was built from.
	if err := os.MkdirAll(p.Path(project.GenDir), 0o755); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := buildRun(t.Context(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "note: "+filepath.Join("pets", "target", "gen")+" is from an earlier --keep-source build") {
		t.Errorf("no note of the stale target/gen:\n%s", out.String())
	}
	if err := os.Remove(p.Path(project.GenDir)); err != nil {
		t.Fatal(err)
	}

	// A compiler error: mapped to the project's file, the old executable
	// kept, no temporary file left.
	if err := os.WriteFile(filepath.Join(wd, "pets", "extensions", "broken.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	err := buildRun(t.Context(), opts)
	var exitErr *factory.ExitError
	if !errors.As(err, &exitErr) || exitErr.Code != 1 {
		t.Fatalf("got %v", err)
	}
	wantErr := "compilation failed:\n" + filepath.Join("pets", "extensions", "broken.go") + ":4:9: undefined: x\nBUILD FAILED\n"
	if errOut.String() != wantErr {
		t.Errorf("stderr %q, want %q", errOut.String(), wantErr)
	}
	entries, _ := os.ReadDir(filepath.Join(wd, "pets", "target"))
	if len(entries) != 1 || entries[0].Name() != "pets" {
		t.Errorf("target/ holds %v, want only the previous executable", entries)
	}
}

// Without -v a build prints ten warnings of a definition and counts the
// rest; with -v, all of them.
func TestBuildRunCapsWarnings(t *testing.T) {
	def := filepath.Join(t.TempDir(), "examples.yaml")
	content := "openapi: 3.0.0\ninfo: {title: E, version: '1'}\nx-wso2-production-endpoints: {urls: ['http://127.0.0.1:1']}\nx-wso2-disable-security: true\n" +
		"paths:\n  /e:\n    get:\n      responses: {'200': {description: ok}}\n" +
		"components:\n  schemas:\n" + func() string {
		var s strings.Builder
		for i := range maxWarnings + 3 {
			fmt.Fprintf(&s, "    S%d: {type: integer, example: not-a-number}\n", i)
		}
		return s.String()
	}()
	if err := os.WriteFile(def, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, verbose := range []bool{false, true} {
		b := newFakeBuild(t, def)
		b.opts.Verbose = verbose
		if err := buildRun(t.Context(), b.opts); err != nil {
			t.Fatalf("%v\n%s", err, b.errOut.String())
		}
		got := strings.Count(b.errOut.String(), "WARNING:")
		more := strings.Contains(b.errOut.String(), "... and 3 more warnings about")
		if verbose && (got != maxWarnings+3 || more) || !verbose && (got != maxWarnings || !more) {
			t.Errorf("verbose %v: %d warnings printed, count line %v:\n%s", verbose, got, more, b.errOut.String())
		}
	}
}

// The project's policies.yaml (micro-gw init's) is compiled in; a tier that names no policy
// fails the build at the tier's line, and so does a policies.yaml that cannot be read.
func TestBuildRunPolicies(t *testing.T) {
	def := filepath.Join(t.TempDir(), "tiers.yaml")
	content := "openapi: 3.0.0\ninfo: {title: T, version: '1'}\nx-wso2-production-endpoints: {urls: ['http://127.0.0.1:1']}\n" +
		"x-wso2-throttling-tier: 10kPerMin\npaths:\n  /e:\n    get:\n      x-wso2-throttling-tier: Platinum\n      responses: {'200': {description: ok}}\n"
	if err := os.WriteFile(def, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newFakeBuild(t, def)
	err := buildRun(t.Context(), b.opts)
	want := filepath.Join("pets", "api_definitions", "tiers.yaml") + `:8: $.paths["/e"].get.x-wso2-throttling-tier: throttling tier "Platinum" names no policy of resourcePolicies in policies.yaml (defined: Unlimited, 10kPerMin, 20kPerMin, 50kPerMin)`
	if err == nil || !strings.Contains(b.errOut.String()+err.Error(), want) {
		t.Fatalf("got %v\n%s\nwant %s", err, b.errOut.String(), want)
	}
	policies := b.p.Path(project.PoliciesFile)
	if err := os.WriteFile(policies, []byte("resourcePolicies:\n  - Platinum: {count: 5, unitTime: 1, timeUnit: weekday}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.errOut.Reset()
	err = buildRun(t.Context(), b.opts)
	want = filepath.Join("pets", "policies.yaml") + `:2: $.resourcePolicies[0].Platinum.timeUnit: must be sec, min, hour or day, got "weekday"`
	if err == nil || !strings.Contains(b.errOut.String()+err.Error(), want) {
		t.Fatalf("got %v\n%s\nwant %s", err, b.errOut.String(), want)
	}
	if err := os.WriteFile(policies, []byte("resourcePolicies:\n  - Platinum: {count: 5, unitTime: 1, timeUnit: sec}\n  - 10kPerMin: {count: 10000, unitTime: 1, timeUnit: min}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.errOut.Reset()
	if err := buildRun(t.Context(), b.opts); err != nil {
		t.Fatalf("%v\n%s", err, b.errOut.String())
	}
}

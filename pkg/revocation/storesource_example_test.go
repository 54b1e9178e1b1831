package revocation_test

import (
	"context"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/codegen"
)

// exampleCheckMain is compiled with the example extension that `micro-gw
// init` writes (templates/project/extensions/token_revocation_extension.go.tmpl)
// into one main package, as `micro-gw build` does, and runs the example
// store through the real StoreSource and Set.
const exampleCheckMain = `package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

func main() {
	if err := check(os.Args[1]); err != nil {
		fmt.Println("FAIL:", err)
		os.Exit(1)
	}
	fmt.Println("PASS")
}

func write(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path) // as editors save
}

func until(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return errors.New("timed out waiting until " + what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func check(root string) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	store, err := revocation.NewCustomStore(nil, "", revocation.StoreConfig{ProjectRoot: root, Settings: map[string]any{}, Logger: logger})
	if err != nil {
		return err
	}
	entries, err := store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load the shipped file: %w", err)
	}
	if len(entries) != 0 {
		return fmt.Errorf("the shipped file lists %v, want nothing", entries)
	}

	path := filepath.Join(root, "extensions", "revoked_tokens.txt")
	if err := write(path, "# test\ngone\nkept 3600 # stolen laptop\nnot a valid line\n"); err != nil {
		return err
	}
	set := revocation.NewSet()
	src := revocation.NewStoreSource(store, logger)
	ready := make(chan struct{})
	go src.Run(ctx, set, func() { close(ready) })
	select {
	case <-ready:
	case <-ctx.Done():
		return errors.New("source not ready")
	}
	if !set.Revoked("gone") || !set.Revoked("kept") || set.Revoked("not") {
		return errors.New("after ready the set does not hold the file's list")
	}

	if err := write(path, "kept 3600\nnew\n"); err != nil {
		return err
	}
	if err := until(ctx, "the change to the file applies", func() bool {
		return set.Revoked("new") && !set.Revoked("gone") && set.Revoked("kept")
	}); err != nil {
		return err
	}

	other, err := revocation.NewCustomStore(nil, "file", revocation.StoreConfig{
		ProjectRoot: root, Settings: map[string]any{"revokedTokensFile": "other.txt"}, Logger: logger,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "other.txt"), []byte("x 60\n"), 0o644); err != nil {
		return err
	}
	if entries, err := other.Load(ctx); err != nil || len(entries) != 1 || entries[0].JTI != "x" || entries[0].ExpiresAt.IsZero() {
		return fmt.Errorf("revokedTokensFile = other.txt: %v, %v", entries, err)
	}
	if err := os.Remove(filepath.Join(root, "other.txt")); err != nil {
		return err
	}
	if _, err := other.Load(ctx); err == nil {
		return errors.New("a missing file loaded without error")
	}
	if _, err := revocation.NewCustomStore(nil, "file", revocation.StoreConfig{Settings: map[string]any{"revokedTokensFile": 5}}); err == nil {
		return errors.New("revokedTokensFile = 5 accepted")
	}
	return nil
}
`

// TestExampleExtensionBuildsAndWorks compiles the example extension of the
// project template against this module, as a gateway build would, and runs
// it: the template is data (embedded into micro-gw), so nothing else would
// notice if it stopped compiling.
func TestExampleExtensionBuildsAndWorks(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a program against the module")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ext := filepath.Join(repo, "templates", "project", "extensions")
	src, err := os.ReadFile(filepath.Join(ext, "token_revocation_extension.go.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	// The template is not a .go file in this repository, so neither gofmt
	// nor go vet ./... sees it: check it here.
	if formatted, err := format.Source(src); err != nil || string(formatted) != string(src) {
		t.Errorf("the example extension is not gofmt-clean (err: %v)", err)
	}
	shipped, err := os.ReadFile(filepath.Join(ext, "revoked_tokens.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	toolkitMod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	// The go.mod that micro-gw build writes: the toolkit's requirements in
	// full, so that the go command needs no module beyond those go test
	// itself downloaded (a fresh module cache has nothing else).
	mod, err := codegen.GoMod(toolkitMod, "example", repo)
	if err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	files := map[string]string{
		"go.mod":                         string(mod),
		"go.sum":                         string(sum),
		"main.go":                        exampleCheckMain,
		"token_revocation_extension.go":  string(src),
		"project/extensions/placeholder": "",
	}
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	project := filepath.Join(work, "project")
	if err := os.WriteFile(filepath.Join(project, "extensions", "revoked_tokens.txt"), shipped, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := filepath.Join(work, "check")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	build.Dir = work
	build.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the example extension does not compile: %v\n%s", err, out)
	}
	vet := exec.CommandContext(ctx, goTool, "vet", ".")
	vet.Dir = work
	vet.Env = build.Env
	if out, err := vet.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the example extension: %v\n%s", err, out)
	}

	run := exec.CommandContext(ctx, bin, project)
	var stderr strings.Builder
	run.Stderr = &stderr
	out, err := run.Output()
	if err != nil || strings.TrimSpace(string(out)) != "PASS" {
		t.Fatalf("the example store misbehaves: %v\n%s\nlog:\n%s", err, out, stderr.String())
	}
	if !strings.Contains(stderr.String(), "revoked_tokens.txt:4: want a jti and an optional ttl") {
		t.Errorf("the bad line is not logged with file:line; log:\n%s", stderr.String())
	}
}

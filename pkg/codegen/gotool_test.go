package codegen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeGo writes a shell script standing in for the go command.
func fakeGo(t *testing.T, script string) *GoTool {
	t.Helper()
	p := filepath.Join(t.TempDir(), "go")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &GoTool{Path: p, Log: discard}
}

func TestCheckVersion(t *testing.T) {
	for _, tt := range []struct {
		version string
		ok      bool
	}{{"go1.26.0", true}, {"go1.27rc1", true}, {"devel go1.28-abcdef", true}, {"go1.25.9", false}, {"go1.9", false}} {
		g := fakeGo(t, "echo "+tt.version)
		_, err := g.CheckVersion(t.Context(), t.TempDir())
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.version, err)
		}
		if err != nil && (!errors.Is(err, ErrNoGo) || !strings.Contains(err.Error(), tt.version)) {
			t.Errorf("%s: %v does not say that go 1.26 is needed and what was found", tt.version, err)
		}
	}
	if _, err := fakeGo(t, "exit 3").CheckVersion(t.Context(), t.TempDir()); !errors.Is(err, ErrNoGo) {
		t.Errorf("a go that does not run: %v", err)
	}
}

func TestFindGo(t *testing.T) {
	_, err := FindGo(func(string) (string, error) { return "", errors.New(`exec: "go": executable file not found in $PATH`) })
	if !errors.Is(err, ErrNoGo) || !strings.Contains(err.Error(), "micro-gw build needs the Go toolchain (go 1.26 or later) on PATH: exec:") {
		t.Errorf("got %v", err)
	}
}

func TestRunFailureAndTimeout(t *testing.T) {
	g := fakeGo(t, "echo ./x.go:3:1: broken >&2; exit 1")
	_, err := g.Run(t.Context(), t.TempDir(), "build", ".")
	var goErr *GoError
	if !errors.As(err, &goErr) || !strings.Contains(goErr.Output, "./x.go:3:1: broken") {
		t.Errorf("got %v", err)
	}

	g = fakeGo(t, "exec sleep 60")
	g.Timeout = 50 * time.Millisecond
	if _, err := g.Run(t.Context(), t.TempDir(), "build", "."); err == nil || !strings.Contains(err.Error(), "go build: timed out after 50ms") {
		t.Errorf("got %v", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := g.Run(ctx, t.TempDir(), "build", "."); err == nil || !strings.Contains(err.Error(), "go build: interrupted") {
		t.Errorf("cancelled: got %v", err)
	}
}

func TestMissingOfflineModule(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"go: downloading github.com/fsnotify/fsnotify v1.10.1\ngo: downloading go.etcd.io/etcd/client/v3 v3.7.3\n" +
			"../../src/x/pkg/revocation/storesource_file.go:16:2: module lookup disabled by GOPROXY=off\n", "github.com/fsnotify/fsnotify@v1.10.1"},
		{"go: go.etcd.io/etcd/client/v3@v3.7.3: module lookup disabled by GOPROXY=off\n", "go.etcd.io/etcd/client/v3@v3.7.3"},
		{"x.go:1:2: module lookup disabled by GOPROXY=off\n", "a module"},
		{"main.go:3:1: syntax error\n", ""},
	} {
		if got := missingOfflineModule(tc.out); got != tc.want {
			t.Errorf("missingOfflineModule(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}

package codegen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPruneCache: a gen folder stays while its project exists and goes with
// it; an unpacked source stays while a gen folder compiles against it; a
// folder changed within the hour stays whatever it looks like.
func TestPruneCache(t *testing.T) {
	cache := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * pruneGrace)
	mkdir := func(t *testing.T, dir string, mtime time.Time) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dir, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	src := func(name string, mtime time.Time) string {
		return mkdir(t, filepath.Join(cache, sourceDirName, name), mtime)
	}
	gen := func(name, root, srcDir string, mtime time.Time) string {
		dir := filepath.Join(cache, genDirName, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if root != "" {
			if err := MarkGenDir(dir, root); err != nil {
				t.Fatal(err)
			}
		}
		if srcDir != "" {
			mod, err := GoMod([]byte("module x\n\ngo 1.26.0\n"), name, srcDir)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return mkdir(t, dir, mtime)
	}
	live := t.TempDir()
	spaced := src("with space", old) // quoted in go.mod
	kept := []string{
		src("current", old),
		spaced,
		src("being-unpacked", now),
		gen("live", live, filepath.Join(cache, sourceDirName, "current"), old),
		gen("live-spaced", live, spaced, old),
		gen("unmarked-new", "", "", now),
	}
	gone := []string{
		src("old-toolkit", old),
		src("only-gone-project", old),
		gen("gone", filepath.Join(t.TempDir(), "deleted"), filepath.Join(cache, sourceDirName, "only-gone-project"), old),
		gen("unmarked-old", "", "", old),
	}
	removed := PruneCache(cache, now)
	for _, d := range kept {
		if _, err := os.Stat(d); err != nil || slices.Contains(removed, d) {
			t.Errorf("%s removed", d)
		}
	}
	for _, d := range gone {
		if _, err := os.Stat(d); err == nil || !slices.Contains(removed, d) {
			t.Errorf("%s kept (removed: %q)", d, removed)
		}
	}
}

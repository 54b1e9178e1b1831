package codegen

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	microgw "github.com/micro-gw/micro-gw"
)

func TestUnpackSource(t *testing.T) {
	src := fstest.MapFS{
		"go.mod":                    {Data: []byte("module m\n")},
		"pkg/runtime/a.go":          {Data: []byte("package runtime\n")},
		"pkg/runtime/a_test.go":     {Data: []byte("package runtime\n")},
		"pkg/runtime/testdata/big":  {Data: []byte("large")},
		"templates/gen/main.go.tmp": {Data: []byte("t")},
	}
	cache := t.TempDir()
	dir, err := UnpackSource(src, cache)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"go.mod": true, "pkg/runtime/a.go": true, "templates/gen/main.go.tmp": true,
		"pkg/runtime/a_test.go": false, "pkg/runtime/testdata": false,
	} {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if (err == nil) != want {
			t.Errorf("%s: present = %v, want %v", p, err == nil, want)
		}
	}

	// Unpacked once: a second call finds the folder (a change inside it
	// survives), and nothing else is left under src/.
	marker := filepath.Join(dir, "marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := UnpackSource(src, cache)
	if err != nil || again != dir {
		t.Fatalf("second unpack: %q, %v; want %q", again, err, dir)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the second unpack wrote the folder again")
	}

	// Different content, different folder; a test file does not count.
	src["pkg/runtime/a_test.go"] = &fstest.MapFile{Data: []byte("changed")}
	if same, _ := UnpackSource(src, cache); same != dir {
		t.Errorf("a test file changed the source key: %s vs %s", same, dir)
	}
	src["pkg/runtime/a.go"] = &fstest.MapFile{Data: []byte("package runtime // changed\n")}
	other, err := UnpackSource(src, cache)
	if err != nil || other == dir {
		t.Fatalf("changed source: %q, %v", other, err)
	}
	entries, _ := os.ReadDir(filepath.Join(cache, sourceDirName))
	if len(entries) != 2 {
		t.Errorf("src/ holds %d entries, want the 2 unpacked folders", len(entries))
	}
}

// TestCarriedSource checks that the source micro-gw embeds holds what a
// generated gateway compiles against.
func TestCarriedSource(t *testing.T) {
	for _, p := range []string{"go.mod", "go.sum", "pkg/runtime/spec.go", "pkg/revocation/store.go", "templates/gen/main.go.tmpl"} {
		if _, err := microgw.Source.Open(p); err != nil {
			t.Errorf("embedded source lacks %s: %v", p, err)
		}
	}
}

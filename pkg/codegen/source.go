package codegen

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// sourceDirName names the unpacked runtime source under the cache folder.
const sourceDirName = "src"

// UnpackSource writes the module source carried by micro-gw (src, the
// embedded go.mod, go.sum, pkg/ and templates/) to
// <cacheDir>/src/<hash of the content>/ and returns that folder. It is
// written once: a later call with the same content finds it. The folder is
// filled under a temporary name and renamed into place, so a folder with the
// final name is always complete, also when builds run side by side.
// Test files and testdata/ are left out: no gateway compiles them.
func UnpackSource(src fs.FS, cacheDir string) (string, error) {
	sum, err := hashFS(src)
	if err != nil {
		return "", fmt.Errorf("hash runtime source: %w", err)
	}
	parent := filepath.Join(cacheDir, sourceDirName)
	dir := filepath.Join(parent, sum)
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		// Seen in use now: PruneCache leaves a recently used folder alone
		// until the generated go.mod that names it is written.
		now := time.Now()
		_ = os.Chtimes(dir, now, now)
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("unpack runtime source: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+sum+"-")
	if err != nil {
		return "", fmt.Errorf("unpack runtime source: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := copyFS(src, tmp); err != nil {
		return "", fmt.Errorf("unpack runtime source: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another build may have put the same content in place first.
		if info, statErr := os.Stat(dir); statErr == nil && info.IsDir() {
			return dir, nil
		}
		return "", fmt.Errorf("unpack runtime source: %w", err)
	}
	return dir, nil
}

// walkSource calls fn for every folder and file of fsys that is unpacked:
// test files and testdata/ are left out, since no gateway compiles them.
func walkSource(fsys fs.FS, fn func(p string, d fs.DirEntry) error) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path.Base(p) == "testdata":
			return fs.SkipDir
		case !d.IsDir() && strings.HasSuffix(p, "_test.go"):
			return nil
		}
		return fn(p, d)
	})
}

// hashFS is a short SHA-256 over the names and contents of every file of
// fsys that is unpacked.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := walkSource(fsys, func(p string, d fs.DirEntry) error {
		if d.IsDir() {
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", p)
		n, err := io.Copy(h, f)
		fmt.Fprintf(h, "\x00%d\x00", n)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func copyFS(fsys fs.FS, dst string) error {
	return walkSource(fsys, func(p string, d fs.DirEntry) error {
		target := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// errNoGoMod is returned when the carried source has no go.mod.
var errNoGoMod = errors.New("the runtime source carried by micro-gw has no go.mod")

// ProjectKey names the generated package folder of the project at root in
// the cache: readable, and unique per absolute path.
func ProjectKey(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Base(root) + "-" + hex.EncodeToString(sum[:])[:12]
}

package project

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/micro-gw/micro-gw/templates"
)

// ExistsError is `micro-gw init` on a folder that exists and is not empty,
// without --force. Its message is the original's.
type ExistsError struct{ Name string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("Project name `%s` already exist. use -f or --force to forcefully update the project directory.", e.Name)
}

// ScaffoldOptions are the choices of `micro-gw init`.
type ScaffoldOptions struct {
	// Force writes the scaffold into an existing, non-empty folder,
	// replacing the files it writes (conf, extensions, security) and keeping
	// every other file.
	Force bool
	// Definitions are copied into api_definitions/ under their base names.
	Definitions []string
	// Parts are the files that the definitions reference with $ref, copied
	// into api_definitions/ at their paths relative to their definition.
	Parts []Part
}

// Part is a file a definition references: Source is copied to
// api_definitions/Target, Target being relative and in a subfolder.
type Part struct {
	Source, Target string
}

// Scaffold makes the project p (docs/build.md): api_definitions/,
// conf/micro-gw.conf, extensions/ (the templates), security/ (fresh keys)
// and target/. A new project is made under a temporary name beside p.Root
// and renamed into place, so that a failure leaves nothing behind.
func Scaffold(p Project, opts ScaffoldOptions) error {
	seen := map[string]string{}
	for _, def := range opts.Definitions {
		base := filepath.Base(def)
		if other, dup := seen[base]; dup {
			return fmt.Errorf("%s and %s would both be api_definitions/%s", other, def, base)
		}
		seen[base] = def
	}
	for _, part := range opts.Parts {
		target := filepath.Clean(part.Target)
		if !filepath.IsLocal(target) || filepath.Dir(target) == "." {
			return fmt.Errorf("%s cannot be copied to api_definitions/%s: a part goes in a subfolder of api_definitions/", part.Source, part.Target)
		}
		other, dup := seen[target]
		if !dup {
			seen[target] = part.Source
			continue
		}
		if !sameContent(other, part.Source) {
			return fmt.Errorf("%s and %s would both be api_definitions/%s", other, part.Source, filepath.ToSlash(target))
		}
	}

	entries, err := os.ReadDir(p.Root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return scaffoldNew(p, opts)
	case err != nil && !isDir(p.Root):
		return fmt.Errorf("%s exists and is not a folder", p.Root)
	case err != nil:
		return fmt.Errorf("read project folder: %w", err)
	case len(entries) > 0 && !opts.Force:
		return &ExistsError{Name: p.Name}
	}
	return populate(p.Root, opts)
}

func scaffoldNew(p Project, opts ScaffoldOptions) error {
	parent := filepath.Dir(p.Root)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("make project folder: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+p.Name+"-init-")
	if err != nil {
		return fmt.Errorf("make project folder: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("make project folder: %w", err)
	}
	if err := populate(tmp, opts); err != nil {
		return err
	}
	if err := os.Rename(tmp, p.Root); err != nil {
		return fmt.Errorf("make project folder: %w", err)
	}
	return nil
}

// populate writes the scaffold into the folder root.
func populate(root string, opts ScaffoldOptions) error {
	dst := Project{Root: root}
	for _, dir := range []string{DefinitionsDir, ExtensionsDir, TargetDir, TrustStoreDir} {
		if err := os.MkdirAll(dst.Path(dir), 0o755); err != nil {
			return fmt.Errorf("make project folder: %w", err)
		}
	}
	if err := copyTemplates(root); err != nil {
		return err
	}
	if err := WriteSecurity(root); err != nil {
		return err
	}
	for _, def := range opts.Definitions {
		if err := copyFile(def, filepath.Join(dst.Path(DefinitionsDir), filepath.Base(def))); err != nil {
			return fmt.Errorf("copy api definition: %w", err)
		}
	}
	for _, part := range opts.Parts {
		target := filepath.Join(dst.Path(DefinitionsDir), filepath.Clean(part.Target))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("copy api definition part: %w", err)
		}
		if err := copyFile(part.Source, target); err != nil {
			return fmt.Errorf("copy api definition part: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// sameContent reports whether files a and b hold the same bytes.
func sameContent(a, b string) bool {
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}

// copyTemplates writes every file of the embedded templates/project into
// root at the same relative path. A ".tmpl" suffix is dropped: Go files are
// kept as foo.go.tmpl in the repository so that `go build ./...` does not
// take the scaffold's package main for a package of this module.
func copyTemplates(root string) error {
	const top = "project"
	return fs.WalkDir(templates.Project, top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(top, filepath.FromSlash(p))
		target := filepath.Join(root, strings.TrimSuffix(rel, ".tmpl"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(templates.Project, path.Clean(p))
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		return nil
	})
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}

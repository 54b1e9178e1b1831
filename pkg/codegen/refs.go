package codegen

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// localRefReader returns the loader's reader of $ref'd documents for a
// definition in folder dir. Many real definitions are split into files
// (`$ref: ./schemas/pet.yaml`), so files in dir and below it are read; the
// build never goes to the network, and never reads outside the definition's
// folder, even through a symbolic link, so a definition cannot pull
// /etc/passwd or a cloud metadata URL into the build. Each file is bounded by
// maxDefinitionSize like the definition itself.
func localRefReader(dir string) openapi3.ReadFromURIFunc {
	// The folder is resolved once, for every file a definition references.
	root, rootErr := realPath(dir)
	return func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" || u.Host != "" || u.Opaque != "" {
			return nil, fmt.Errorf("$ref to %s: only files beside the definition can be referenced, never URLs (the build does not use the network)", u.Redacted())
		}
		if rootErr != nil {
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, rootErr)
		}
		file := filepath.FromSlash(u.Path)
		if err := insideFolder(root, dir, file); err != nil {
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, err)
		}
		data, err := readLimited(file)
		if err != nil {
			return nil, err
		}
		if err := checkPartKeys(data); err != nil {
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, err)
		}
		return data, nil
	}
}

// realPath is p absolute, with its symbolic links followed.
func realPath(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(r)
}

// insideFolder reports an error unless file, once symbolic links are
// followed, is in root (dir resolved by realPath) or a folder below it. A
// file that does not exist is reported as such.
func insideFolder(root, dir, file string) error {
	real, err := realPath(file)
	if os.IsNotExist(err) {
		return fmt.Errorf("no such file")
	}
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("outside the folder of the definition (%s): a definition may only reference files in its folder and below", dir)
	}
	return nil
}

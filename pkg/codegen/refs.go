package codegen

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
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
	return func(l *openapi3.Loader, u *url.URL) ([]byte, error) {
		rec := recorderOf(l)
		if u.Scheme != "" || u.Host != "" || u.Opaque != "" {
			return nil, fmt.Errorf("$ref to %s: only files beside the definition can be referenced, never URLs (the build does not use the network)", u.Redacted())
		}
		if rootErr != nil {
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, rootErr)
		}
		file := filepath.FromSlash(u.Path)
		if err := insideFolder(root, dir, file); err != nil {
			if rec != nil && err == errNoSuchFile {
				rec.missing(filepath.Clean(file))
			}
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, err)
		}
		data, err := readLimited(file)
		if err != nil {
			return nil, fmt.Errorf("$ref to %s: %w", u.Path, err)
		}
		if rec != nil {
			rec.read(filepath.Clean(file))
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

var errNoSuchFile = fmt.Errorf("no such file")

// insideFolder reports an error unless file, once symbolic links are
// followed, is in root (dir resolved by realPath) or a folder below it. A
// file that does not exist is reported as such.
func insideFolder(root, dir, file string) error {
	real, err := realPath(file)
	if os.IsNotExist(err) {
		return errNoSuchFile
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

// partRecorder notes the files a definition's $refs made the loader read,
// and the first one that did not exist: init copies the former with the
// definition, and the build names the line of the $ref of the latter.
type partRecorder struct {
	mu     sync.Mutex
	seen   map[string]bool
	files  []string
	absent string
}

type partRecorderKey struct{}

// withPartRecorder returns ctx carrying a new recorder for localRefReader.
func withPartRecorder(ctx context.Context) (context.Context, *partRecorder) {
	rec := &partRecorder{seen: map[string]bool{}}
	return context.WithValue(ctx, partRecorderKey{}, rec), rec
}

func recorderOf(l *openapi3.Loader) *partRecorder {
	if l == nil || l.Context == nil {
		return nil
	}
	rec, _ := l.Context.Value(partRecorderKey{}).(*partRecorder)
	return rec
}

func (r *partRecorder) read(file string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seen[file] {
		r.seen[file] = true
		r.files = append(r.files, file)
	}
}

func (r *partRecorder) missing(file string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.absent == "" {
		r.absent = file
	}
}

// parts returns the files read, in the order first read, without root.
func (r *partRecorder) parts(root string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	root = filepath.Clean(root)
	var out []string
	for _, f := range r.files {
		if f != root {
			out = append(out, f)
		}
	}
	return out
}

// refLine finds, in the files (the definition first, then the parts it
// read), a $ref whose value, without its #fragment, names target relative
// to the file it is in. It returns that file and the line of the $ref;
// "" when none does.
func refLine(files []string, target string) (string, int) {
	for _, file := range files {
		data, err := readLimited(file)
		if err != nil {
			continue
		}
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil {
			continue
		}
		if line := findRef(&root, filepath.Dir(file), target); line > 0 {
			return file, line
		}
	}
	return "", 0
}

func findRef(n *yaml.Node, dir, target string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "$ref" || v.Kind != yaml.ScalarNode {
				continue
			}
			ref, _, _ := strings.Cut(v.Value, "#")
			if ref == "" {
				continue
			}
			if u, err := url.PathUnescape(ref); err == nil {
				ref = u
			}
			if filepath.Join(dir, filepath.FromSlash(ref)) == target {
				return k.Line
			}
		}
	}
	for _, c := range n.Content {
		if line := findRef(c, dir, target); line > 0 {
			return line
		}
	}
	return 0
}

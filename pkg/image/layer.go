package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one regular file of a layer: its absolute path in the image,
// content, permission bits and owner. Folders are made for it.
type entry struct {
	path  string
	data  []byte
	mode  int64
	owner int
}

// layer builds one image layer from entries, byte for byte the same for the
// same entries: sorted paths, every parent folder written once (root owned,
// 0755), the same modification time on every header, no user or group
// names, and nothing taken from the disk's own metadata (umask, owner,
// mtime), which differs between two checkouts of the same project.
func layer(entries []entry, mtime time.Time) (v1.Layer, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for i, e := range sorted {
		if !path.IsAbs(e.path) || path.Clean(e.path) != e.path {
			return nil, fmt.Errorf("image path %q is not clean and absolute", e.path)
		}
		if i > 0 && sorted[i-1].path == e.path {
			return nil, fmt.Errorf("image path %s is given twice", e.path)
		}
		for _, d := range parents(e.path) {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeDir,
				Name:     strings.TrimPrefix(d, "/") + "/",
				Mode:     0o755,
				ModTime:  mtime,
			}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     strings.TrimPrefix(e.path, "/"),
			Size:     int64(len(e.data)),
			Mode:     e.mode,
			Uid:      e.owner,
			Gid:      e.owner,
			ModTime:  mtime,
		}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// parents lists the folders above p, outermost first: /a/b/c -> /a, /a/b.
func parents(p string) []string {
	var out []string
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		out = append(out, d)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ParseRef reads an image reference given by a user (--image REF): a tag,
// with ":latest" when none is written, as docker and podman take it. A
// reference by digest is refused: the archive names the image by its tag.
func ParseRef(ref string) (name.Tag, error) {
	if i := strings.LastIndex(ref, "/"); !strings.Contains(ref[i+1:], ":") && !strings.Contains(ref, "@") {
		// Written out, so that the archive's manifest.json names the tag
		// (a bare repository there is read differently by each runtime).
		ref += ":latest"
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image reference %q: %w", ref, err)
	}
	return tag, nil
}

// WriteArchive writes img, tagged tag, to file as the archive `docker load`
// and `podman load` read (manifest.json, the config and the layers). It is
// written beside file under a temporary name and renamed into place, so a
// failed or interrupted build never leaves a half archive behind.
func WriteArchive(file string, tag name.Tag, img v1.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+"-")
	if err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tarball.Write(tag, img, tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write image archive: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write image archive: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write image archive: %w", err)
	}
	return nil
}

// Push sends img to the registry of tag, with the credentials keychain
// finds for it (authn.DefaultKeychain: ~/.docker/config.json, $DOCKER_CONFIG,
// podman's auth.json, their credential helpers).
func Push(ctx context.Context, tag name.Tag, img v1.Image, keychain authn.Keychain, opts ...remote.Option) error {
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)}, opts...)
	if err := remote.Write(tag, img, opts...); err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	return nil
}

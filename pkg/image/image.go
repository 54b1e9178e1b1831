// Package image makes the container image of a built gateway (docs/deploy.md)
// without a container daemon: two layers assembled in memory,
// byte for byte the same for the same inputs, written as an archive that
// `podman load` and `docker load` read, or pushed to a registry. It uses
// go-containerregistry for the image format, the archive and the registry
// protocol.
package image

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Where things are in the image.
const (
	// Root is the project folder inside the image: the executable is
	// Root/target/NAME, so it finds Root/conf/micro-gw.conf by itself, as a
	// built gateway does on disk, and relative paths of the conf
	// (security/gateway.crt) are taken from Root.
	Root = "/gateway"
	// UID is the user (and group) the gateway runs as: not root, and the
	// number the distroless images use for "nonroot", so that volume
	// permissions written for those fit.
	UID = 65532
)

// Ports the image exposes: the default HTTP, HTTPS and admin listeners.
var Ports = []int{9090, 9095, 9096}

// File is one file of the project copied into the image.
type File struct {
	// Source is the file on disk.
	Source string
	// Target is its path below Root, slash separated (conf/micro-gw.conf),
	// or an absolute path in the image.
	Target string
	// Mode is its permission bits in the image.
	Mode int64
	// Private files (the TLS key) are owned by UID and readable by it
	// alone; the others are owned by root and world-readable, so that the
	// gateway can change none of its files.
	Private bool
}

// Spec is what one gateway image is made of.
type Spec struct {
	// Name is the executable's name (the project's): Root/target/Name.
	Name string
	// Executable is the built gateway on disk, for linux.
	Executable string
	// Files are the conf and security files.
	Files []File
	// GOARCH is the executable's architecture, the image's platform.
	GOARCH string
	// Created is the time written into the image. The same time gives the
	// same digest; Unix time 0 unless SOURCE_DATE_EPOCH says otherwise.
	Created time.Time
	// Labels are the image's labels.
	Labels map[string]string
}

// Build assembles the image of s. The base layer (CA certificates, the
// user) is the same for every gateway of one toolkit, so a registry stores
// it once.
func Build(s Spec) (v1.Image, error) {
	base, err := layer(baseEntries(), s.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	appEntries, err := s.entries()
	if err != nil {
		return nil, err
	}
	app, err := layer(appEntries, s.Created)
	if err != nil {
		return nil, fmt.Errorf("gateway layer: %w", err)
	}
	ports := map[string]struct{}{}
	for _, p := range Ports {
		ports[strconv.Itoa(p)+"/tcp"] = struct{}{}
	}
	cfg := &v1.ConfigFile{
		Architecture: s.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: s.Created},
		Config: v1.Config{
			Entrypoint:   []string{s.entrypoint()},
			User:         fmt.Sprintf("%d:%d", UID, UID),
			WorkingDir:   Root,
			ExposedPorts: ports,
			Labels:       s.Labels,
			// The gateway drains in-flight requests on SIGTERM (docs/runtime.md).
			StopSignal: "SIGTERM",
		},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{
			Created: v1.Time{Time: s.Created}, CreatedBy: "micro-gw build: CA certificates, user " + strconv.Itoa(UID),
		}},
		mutate.Addendum{Layer: app, History: v1.History{
			Created: v1.Time{Time: s.Created}, CreatedBy: "micro-gw build: gateway " + s.Name,
		}},
	)
}

// entrypoint is the executable's path in the image.
func (s Spec) entrypoint() string { return path.Join(Root, "target", s.Name) }

// entries reads the executable and the files into layer entries.
func (s Spec) entries() ([]entry, error) {
	exe, err := os.ReadFile(s.Executable)
	if err != nil {
		return nil, fmt.Errorf("read executable: %w", err)
	}
	out := []entry{{path: s.entrypoint(), data: exe, mode: 0o555}}
	for _, f := range s.Files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f.Source, err)
		}
		e := entry{path: f.Target, data: data, mode: f.Mode}
		if !path.IsAbs(e.path) {
			e.path = path.Join(Root, f.Target)
		}
		if f.Private {
			e.owner = UID
		}
		out = append(out, e)
	}
	return out, nil
}

// baseEntries are the files every gateway image has besides its own: the
// CA certificates (backends, etcd and brokers over TLS) and the user
// database, so that tools that look the user up find it. No shell: the
// image holds no program but the gateway.
func baseEntries() []entry {
	uid := strconv.Itoa(UID)
	return []entry{
		{path: CACertsPath, data: caBundle(), mode: 0o444},
		{path: "/etc/passwd", mode: 0o444, data: []byte(
			"root:x:0:0:root:/root:/sbin/nologin\n" +
				"nonroot:x:" + uid + ":" + uid + ":nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "/etc/group", mode: 0o444, data: []byte("root:x:0:\nnonroot:x:" + uid + ":\n")},
	}
}

package image

import (
	"archive/tar"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/micro-gw/micro-gw/pkg/project"
)

// testProject makes a project with the security files of `micro-gw init`,
// a conf and a stand-in executable (the image does not run it).
func testProject(t *testing.T) (project.Project, string) {
	t.Helper()
	p := project.New(t.TempDir(), "petstore")
	if err := project.WriteSecurity(p.Root); err != nil {
		t.Fatal(err)
	}
	write(t, p.Path(project.ConfFile), "[log]\nlevel = \"INFO\"\n", 0o644)
	exe := p.Executable("linux")
	write(t, exe, "\x7fELF stand-in executable", 0o755)
	return p, exe
}

func write(t *testing.T, file, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func buildProject(t *testing.T, p project.Project, exe string) v1.Image {
	t.Helper()
	files, err := ProjectFiles(p)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(Spec{Name: p.Name, Executable: exe, Files: files, GOARCH: "amd64",
		Created: time.Unix(0, 0).UTC(), Labels: map[string]string{"org.opencontainers.image.title": p.Name}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The same files give the same digest, whatever the disk says about them
// (folder, modification time, permissions), and a changed file another.
func TestBuildIsReproducible(t *testing.T) {
	p, exe := testProject(t)
	first := digest(t, buildProject(t, p, exe))

	// A second checkout: another folder, other times and modes, same bytes.
	q := project.New(t.TempDir(), "petstore")
	copyTree(t, p.Root, q.Root)
	later := time.Now().Add(time.Hour)
	filepath.Walk(q.Root, func(f string, _ os.FileInfo, _ error) error { return os.Chtimes(f, later, later) })
	os.Chmod(q.Path(project.ConfFile), 0o600)
	if second := digest(t, buildProject(t, q, q.Executable("linux"))); second != first {
		t.Fatalf("digest of the same project differs: %s then %s", first, second)
	}

	write(t, q.Path(project.ConfFile), "[log]\nlevel = \"DEBUG\"\n", 0o644)
	if changed := digest(t, buildProject(t, q, q.Executable("linux"))); changed == first {
		t.Fatalf("a changed conf kept the digest %s", first)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(f string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, f)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, info.Mode())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// layerFile is a file of a layer as the archive holds it.
type layerFile struct {
	hdr  *tar.Header
	data []byte
}

func filesOf(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]layerFile{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			out["/"+strings.TrimSuffix(hdr.Name, "/")] = layerFile{hdr, data}
		}
		rc.Close()
	}
	return out
}

// The archive that podman and docker load: what it holds and how it runs.
func TestArchive(t *testing.T) {
	p, exe := testProject(t)
	img := buildProject(t, p, exe)
	tag, err := ParseRef("registry.example/team/petstore:1.0")
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(p.Path(project.TargetDir), "petstore.image.tar")
	if err := WriteArchive(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	loaded, err := tarball.ImageFromPath(archive, &tag)
	if err != nil {
		t.Fatalf("the archive does not read back: %v", err)
	}
	if got, want := digest(t, loaded), digest(t, img); got != want {
		t.Fatalf("archive's image is %s, built %s", got, want)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(archive) })
	if err != nil || len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"registry.example/team/petstore:1.0"}) {
		t.Fatalf("manifest.json: %+v, %v", m, err)
	}

	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Config
	if c.User != "65532:65532" || cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("user %q, platform %s/%s", c.User, cfg.OS, cfg.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{"/gateway/target/petstore"}) || len(c.Cmd) != 0 {
		t.Errorf("entrypoint %q, cmd %q", c.Entrypoint, c.Cmd)
	}
	for _, port := range []string{"9090/tcp", "9095/tcp", "9096/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("port %s is not exposed: %v", port, c.ExposedPorts)
		}
	}

	files := filesOf(t, loaded)
	var regular []string
	for name, f := range files {
		if f.hdr.Typeflag != tar.TypeDir {
			regular = append(regular, name)
		}
		if !f.hdr.ModTime.Equal(time.Unix(0, 0)) || f.hdr.Uname != "" {
			t.Errorf("%s: mtime %v, uname %q", name, f.hdr.ModTime, f.hdr.Uname)
		}
	}
	slices.Sort(regular)
	want := []string{
		"/etc/group", "/etc/passwd", CACertsPath,
		"/gateway/conf/micro-gw.conf",
		"/gateway/security/gateway.crt", "/gateway/security/gateway.key",
		"/gateway/security/truststore/wso2apim.pem",
		"/gateway/target/petstore",
	}
	// Exactly these: no shell, no issuer.key, nothing else of the disk.
	if !slices.Equal(regular, want) {
		t.Fatalf("files in the image:\n%s\nwant:\n%s", strings.Join(regular, "\n"), strings.Join(want, "\n"))
	}
	if f := files["/gateway/target/petstore"]; f.hdr.Mode != 0o555 || string(f.data) != "\x7fELF stand-in executable" {
		t.Errorf("executable: mode %o, %q", f.hdr.Mode, f.data)
	}
	if f := files["/gateway/security/gateway.key"]; f.hdr.Uid != UID || f.hdr.Mode != 0o400 {
		t.Errorf("TLS key: uid %d mode %o; the gateway's user must read it and no one else", f.hdr.Uid, f.hdr.Mode)
	}
	if f := files["/gateway/conf/micro-gw.conf"]; f.hdr.Uid != 0 || f.hdr.Mode != 0o444 {
		t.Errorf("conf: uid %d mode %o; root owned, read-only", f.hdr.Uid, f.hdr.Mode)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(files[CACertsPath].data) {
		t.Fatal("the CA bundle holds no certificate")
	}
	if n := strings.Count(string(files[CACertsPath].data), "BEGIN CERTIFICATE"); n < 100 {
		t.Errorf("CA bundle has %d certificates; the Mozilla store has well over 100", n)
	}
	rest := files[CACertsPath].data
	for len(rest) > 0 {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			t.Fatalf("CA bundle: %v", err)
		}
	}
}

// The issuer's key is refused whatever name or link brings it in.
func TestIssuerKeyNeverGoesIn(t *testing.T) {
	p, _ := testProject(t)
	link := p.Path("security/truststore/innocent.pem")
	if err := os.Symlink(p.Path(project.IssuerKeyFile), link); err != nil {
		t.Fatal(err)
	}
	// A symbolic link in the trust store is not a regular file entry: skipped.
	files, err := ProjectFiles(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(f.Source, "innocent") {
			t.Fatalf("a symbolic link was taken into the image: %+v", f)
		}
	}
	// Named on purpose (a copied file of the deployment config).
	for _, src := range []string{p.Path(project.IssuerKeyFile), link} {
		err := CheckFiles(p, append(files, File{Source: src, Target: "/etc/key.pem", Mode: 0o400}))
		if err == nil || !strings.Contains(err.Error(), "never goes into an image") {
			t.Errorf("%s: %v", src, err)
		}
	}
	err = CheckFiles(p, append(files, File{Source: p.Path(project.TLSCertFile), Target: "/gateway/conf/micro-gw.conf"}))
	if err == nil || !strings.Contains(err.Error(), "both go to /gateway/conf/micro-gw.conf") {
		t.Errorf("two files on one path: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	tag, err := ParseRef("petstore")
	if err != nil || tag.String() != "petstore:latest" {
		t.Errorf("petstore: %v %v", tag, err)
	}
	for _, bad := range []string{"Petstore:1", "petstore@sha256:" + strings.Repeat("a", 64), "a:b:c", ""} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// --push sends the image with the credentials of ~/.docker/config.json to a
// registry (go-containerregistry's own, in this process) that refuses
// anyone else.
func TestPushWithDockerConfigCredentials(t *testing.T) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != "ci" || pw != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	auth := base64.StdEncoding.EncodeToString([]byte("ci:s3cret"))
	write(t, filepath.Join(home, ".docker", "config.json"), `{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`, 0o600)

	p, exe := testProject(t)
	img := buildProject(t, p, exe)
	tag, err := ParseRef(host + "/team/petstore:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(t.Context(), tag, img, authn.DefaultKeychain); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(tag, remote.WithAuth(&authn.Basic{Username: "ci", Password: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digest(t, pulled), digest(t, img); got != want {
		t.Fatalf("registry holds %s, pushed %s", got, want)
	}

	// Without credentials the push fails and says so.
	t.Setenv("HOME", t.TempDir())
	other, _ := name.NewTag(host + "/team/other:1.0")
	if err := Push(t.Context(), other, img, authn.DefaultKeychain); err == nil || !strings.Contains(err.Error(), "push "+other.String()) {
		t.Fatalf("push without credentials: %v", err)
	}
}

package project

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/templates"
)

func TestScaffold(t *testing.T) {
	wd := t.TempDir()
	def := filepath.Join(wd, "petstore.yaml")
	if err := os.WriteFile(def, []byte("openapi: 3.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := New(wd, "projects/petstore")
	if p.Name != "petstore" || p.Root != filepath.Join(wd, "projects", "petstore") {
		t.Fatalf("New: %+v", p)
	}
	if err := Scaffold(p, ScaffoldOptions{Definitions: []string{def}}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{DefinitionsDir, ExtensionsDir, TargetDir, TrustStoreDir} {
		if info, err := os.Stat(p.Path(d)); err != nil || !info.IsDir() {
			t.Errorf("%s is not a folder: %v", d, err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(p.Path(DefinitionsDir), "petstore.yaml")); err != nil || string(data) != "openapi: 3.0.0\n" {
		t.Errorf("definition not copied: %q %v", data, err)
	}
	conf, err := os.ReadFile(p.Path(ConfFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[listenerConfig]", "httpPort = 9090", "httpsPort = 9095", "adminPort = 9096",
		`certFile = "security/gateway.crt"`, `trustStorePath = "security/truststore"`,
		"[[jwtTokenConfig]]", `issuer = "` + IssuerName + `"`, `audience = "` + IssuerAudience + `"`,
		`certificateAlias = "` + IssuerAlias + `"`, "[authConfig]", "[caching]",
		"[tokenRevocationConfig.realtime]", "enableRealtimeMessageRetrieval = false",
		"[tokenRevocationConfig.persistent]", "enablePersistentStorageRetrieval = false",
		"[log]", `level = "INFO"`,
	} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("micro-gw.conf lacks %s", want)
		}
	}
	// Every file of templates/project/extensions is copied as it is, a
	// .tmpl suffix dropped (foo.go.tmpl becomes foo.go).
	copied := 0
	err = fs.WalkDir(templates.Project, "project/extensions", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, _ := fs.ReadFile(templates.Project, path)
		got, err := os.ReadFile(p.Path(strings.TrimSuffix(strings.TrimPrefix(path, "project/"), ".tmpl")))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s not copied: %v", path, err)
		}
		copied++
		return nil
	})
	if err != nil || copied == 0 {
		t.Errorf("no extension template copied (%d, %v)", copied, err)
	}
	// Nothing is left beside the project.
	entries, _ := os.ReadDir(filepath.Dir(p.Root))
	if len(entries) != 1 {
		t.Errorf("%d entries beside the project, want 1", len(entries))
	}
	checkSecurity(t, p)
}

func checkSecurity(t *testing.T, p Project) {
	t.Helper()
	for _, f := range []string{TLSKeyFile, IssuerKeyFile} {
		info, err := os.Stat(p.Path(f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, err %v; want 0600", f, info.Mode().Perm(), err)
		}
	}
	tlsCert := readCert(t, p.Path(TLSCertFile))
	if err := tlsCert.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if !containsIP(tlsCert.IPAddresses, net.ParseIP(ip)) {
			t.Errorf("TLS certificate lacks SAN %s", ip)
		}
	}
	tlsKey := readKey(t, p.Path(TLSKeyFile))
	ecKey, ok := tlsKey.(*ecdsa.PrivateKey)
	if !ok || ecKey.Curve != elliptic.P256() || !ecKey.PublicKey.Equal(tlsCert.PublicKey) {
		t.Errorf("TLS key is %T, not the P-256 key of the certificate", tlsKey)
	}

	issuer, ok := readKey(t, p.Path(IssuerKeyFile)).(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("issuer key is %T, want RSA", readKey(t, p.Path(IssuerKeyFile)))
	}
	if issuer.N.BitLen() != 2048 {
		t.Errorf("issuer key has %d bits", issuer.N.BitLen())
	}
	cert := readCert(t, p.Path(IssuerCertFile))
	if cert.Subject.CommonName != IssuerCommonName || !issuer.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("issuer certificate %q does not hold the issuer key", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("issuer certificate is not self-signed: %v", err)
	}
}

func TestScaffoldExisting(t *testing.T) {
	wd := t.TempDir()
	p := New(wd, "petstore")
	if err := os.MkdirAll(p.Path(DefinitionsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := p.Path(DefinitionsDir + "/mine.yaml")
	if err := os.WriteFile(mine, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}

	err := Scaffold(p, ScaffoldOptions{})
	var exists *ExistsError
	if !errors.As(err, &exists) || err.Error() != "Project name `petstore` already exist. use -f or --force to forcefully update the project directory." {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(p.Path(ConfFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a refused init wrote into the project")
	}

	if err := Scaffold(p, ScaffoldOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(mine); string(data) != "keep me" {
		t.Error("--force lost a file the scaffold does not write")
	}
	checkSecurity(t, p)

	// An empty folder is no obstacle.
	empty := New(wd, "empty")
	if err := os.Mkdir(empty.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Scaffold(empty, ScaffoldOptions{}); err != nil {
		t.Errorf("empty folder: %v", err)
	}
}

func TestScaffoldFailureLeavesNothing(t *testing.T) {
	wd := t.TempDir()
	p := New(wd, "petstore")
	err := Scaffold(p, ScaffoldOptions{Definitions: []string{filepath.Join(wd, "missing.yaml")}})
	if err == nil {
		t.Fatal("a missing definition was accepted")
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("a failed init left %d entries behind", len(entries))
	}
	if err := Scaffold(p, ScaffoldOptions{Definitions: []string{"a/x.yaml", "b/x.yaml"}}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("two definitions of one name: %v", err)
	}
}

func TestProjectFiles(t *testing.T) {
	wd := t.TempDir()
	if _, err := Open(wd, "nope"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Open of a missing project: %v", err)
	}
	p := New(wd, "p")
	for _, f := range []string{"api_definitions/b.yaml", "api_definitions/a.json", "api_definitions/.hidden",
		"extensions/x.go", "extensions/x_test.go", "extensions/notes.txt"} {
		if err := os.MkdirAll(filepath.Dir(p.Path(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.Path(f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(wd, "p/api_definitions/b.yaml"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Open of a file: %v", err)
	}
	defs, err := p.Definitions()
	if err != nil || len(defs) != 2 || filepath.Base(defs[0]) != "a.json" || filepath.Base(defs[1]) != "b.yaml" {
		t.Errorf("Definitions: %v %v", defs, err)
	}
	exts, err := p.Extensions()
	if err != nil || len(exts) != 1 || filepath.Base(exts[0]) != "x.go" {
		t.Errorf("Extensions: %v %v", exts, err)
	}
	if got := p.Executable("windows"); got != filepath.Join(p.Root, "target", "p.exe") {
		t.Errorf("Executable(windows) = %s", got)
	}
}

func readCert(t *testing.T, file string) *x509.Certificate {
	t.Helper()
	block := readPEM(t, file, "CERTIFICATE")
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func readKey(t *testing.T, file string) any {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(readPEM(t, file, "PRIVATE KEY").Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func readPEM(t *testing.T, file, typ string) *pem.Block {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != typ {
		t.Fatalf("%s: no %s PEM block", file, typ)
	}
	return block
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, i := range ips {
		if i.Equal(ip) {
			return true
		}
	}
	return false
}

func TestScaffoldOverAFile(t *testing.T) {
	wd := t.TempDir()
	if err := os.WriteFile(filepath.Join(wd, "pets"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Scaffold(New(wd, "pets"), ScaffoldOptions{Force: true})
	if err == nil || !strings.Contains(err.Error(), "exists and is not a folder") {
		t.Errorf("got %v", err)
	}
}

// The parts a definition references are copied at their relative paths; two
// different files for one path, or a part directly in api_definitions/, are
// refused before anything is written.
func TestScaffoldParts(t *testing.T) {
	src := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	def := write("a.yaml", "root")
	pet := write("paths/pet.yaml", "pet")
	same := write("other/paths/pet.yaml", "pet")
	differs := write("third/paths/pet.yaml", "not the same pet")

	p := New(t.TempDir(), "proj")
	err := Scaffold(p, ScaffoldOptions{Definitions: []string{def}, Parts: []Part{
		{Source: pet, Target: "paths/pet.yaml"}, {Source: same, Target: "paths/pet.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(p.Path(DefinitionsDir), "paths", "pet.yaml"))
	if err != nil || string(got) != "pet" {
		t.Fatalf("part copied as %q, %v", got, err)
	}

	for _, parts := range [][]Part{
		{{Source: pet, Target: "paths/pet.yaml"}, {Source: differs, Target: "paths/pet.yaml"}},
		{{Source: pet, Target: "pet.yaml"}},
		{{Source: pet, Target: "../pet.yaml"}},
	} {
		q := New(t.TempDir(), "proj")
		if err := Scaffold(q, ScaffoldOptions{Definitions: []string{def}, Parts: parts}); err == nil {
			t.Errorf("%v: accepted", parts)
		}
		if _, err := os.Stat(q.Root); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%v: a refused scaffold left %s", parts, q.Root)
		}
	}
}

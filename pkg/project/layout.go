// Package project is a micro-gw project on disk (docs/build.md): where
// its files are, how `micro-gw init` makes one and how `micro-gw build` finds
// its definitions and extensions.
package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The files and folders of a project, relative to its root, slash separated.
// Join them with Path.
const (
	DefinitionsDir = "api_definitions"
	ConfFile       = "conf/micro-gw.conf"
	// PoliciesFile is the throttling policies (docs/traffic.md), compiled
	// in by micro-gw build.
	PoliciesFile  = "policies.yaml"
	ExtensionsDir = "extensions"
	SecurityDir   = "security"
	// TLSCertFile and TLSKeyFile are the HTTPS listener's key pair.
	TLSCertFile = "security/gateway.crt"
	TLSKeyFile  = "security/gateway.key"
	// IssuerKeyFile is the development issuer's private key (RSA 2048,
	// PKCS#8 PEM), used by `micro-gw token issue`.
	IssuerKeyFile = "security/issuer.key"
	// TrustStoreDir holds <alias>.pem certificates of trusted issuers.
	TrustStoreDir = "security/truststore"
	// IssuerCertFile is the development issuer's certificate in the trust store.
	IssuerCertFile = TrustStoreDir + "/" + IssuerAlias + ".pem"
	TargetDir      = "target"
	// GenDir is where `micro-gw build --keep-source` leaves the generated package.
	GenDir = "target/gen"
)

// The development issuer trusted by the default micro-gw.conf.
const (
	// IssuerAlias is the certificateAlias of the development issuer and the
	// kid of the tokens it signs.
	IssuerAlias    = "wso2apim"
	IssuerName     = "https://localhost:9443/oauth2/token"
	IssuerAudience = "http://org.wso2.apimgt/gateway"
	// IssuerCommonName is the subject CN of the development issuer's certificate.
	IssuerCommonName = "micro-gw development issuer"
)

// Project is a project folder.
type Project struct {
	// Root is the absolute path of the project folder.
	Root string
	// Name is the last element of Root: the executable's name.
	Name string
}

// ErrNotExist is returned by Open for a folder that does not exist.
var ErrNotExist = errors.New("project does not exist")

// New returns the project at dir, taken relative to wd when not absolute,
// without looking at the disk.
func New(wd, dir string) Project {
	root := dir
	if !filepath.IsAbs(root) {
		root = filepath.Join(wd, dir)
	}
	root = filepath.Clean(root)
	return Project{Root: root, Name: filepath.Base(root)}
}

// Open returns the project at dir (relative to wd) and checks that it is a
// folder; a missing one gives an error wrapping ErrNotExist.
func Open(wd, dir string) (Project, error) {
	p := New(wd, dir)
	info, err := os.Stat(p.Root)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !info.IsDir()) {
		return p, fmt.Errorf("%s: %w", p.Root, ErrNotExist)
	}
	if err != nil {
		return p, fmt.Errorf("open project: %w", err)
	}
	return p, nil
}

// Path returns the absolute path of rel (one of the constants above).
func (p Project) Path(rel string) string {
	return filepath.Join(p.Root, filepath.FromSlash(rel))
}

// Executable is where `micro-gw build` writes the gateway: target/NAME, with
// ".exe" for windows.
func (p Project) Executable(goos string) string {
	name := p.Name
	if goos == "windows" {
		name += ".exe"
	}
	return filepath.Join(p.Path(TargetDir), name)
}

// Definitions lists the files of api_definitions/, sorted by name. Folders
// and hidden files are skipped; every other file is meant to be a definition.
func (p Project) Definitions() ([]string, error) {
	return listFiles(p.Path(DefinitionsDir), func(string) bool { return true })
}

// Extensions lists the Go files of extensions/ (tests excluded), sorted.
func (p Project) Extensions() ([]string, error) {
	files, err := listFiles(p.Path(ExtensionsDir), func(name string) bool {
		return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return files, err
}

func listFiles(dir string, keep func(string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !keep(name) {
			continue
		}
		files = append(files, filepath.Join(dir, name))
	}
	sort.Strings(files)
	return files, nil
}

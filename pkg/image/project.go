package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/project"
)

// ProjectFiles lists what of project p goes into its image besides the
// executable: conf/micro-gw.conf, the TLS pair (security/gateway.crt and
// gateway.key, when present) and the trust store's files
// (security/truststore/). The development issuer's private key
// (security/issuer.key) is never among them: whoever has it can sign tokens
// every gateway of the project accepts.
func ProjectFiles(p project.Project) ([]File, error) {
	conf := p.Path(project.ConfFile)
	if _, err := os.Stat(conf); err != nil {
		return nil, fmt.Errorf("the image needs the project's %s: %w", project.ConfFile, err)
	}
	files := []File{{Source: conf, Target: project.ConfFile, Mode: 0o444}}
	for _, f := range []struct {
		rel     string
		private bool
	}{{project.TLSCertFile, false}, {project.TLSKeyFile, true}} {
		if _, err := os.Stat(p.Path(f.rel)); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		mode := int64(0o444)
		if f.private {
			mode = 0o400
		}
		files = append(files, File{Source: p.Path(f.rel), Target: f.rel, Mode: mode, Private: f.private})
	}
	entries, err := os.ReadDir(p.Path(project.TrustStoreDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read trust store: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		files = append(files, File{
			Source: filepath.Join(p.Path(project.TrustStoreDir), e.Name()),
			Target: path.Join(project.TrustStoreDir, e.Name()),
			Mode:   0o444,
		})
	}
	return files, CheckFiles(p, files)
}

// CheckFiles refuses a file list that would put the development issuer's
// private key into an image, under any name or through a link, or that
// writes one path twice.
func CheckFiles(p project.Project, files []File) error {
	issuerKey, keyErr := os.Stat(p.Path(project.IssuerKeyFile))
	seen := map[string]string{}
	for _, f := range files {
		if keyErr == nil {
			if fi, err := os.Stat(f.Source); err == nil && os.SameFile(fi, issuerKey) {
				return fmt.Errorf("%s is the development issuer's private key: it never goes into an image", f.Source)
			}
		}
		target := f.Target
		if !path.IsAbs(target) {
			target = path.Join(Root, target)
		}
		if prev, ok := seen[target]; ok {
			return fmt.Errorf("%s and %s both go to %s in the image", prev, f.Source, target)
		}
		seen[target] = f.Source
	}
	return nil
}

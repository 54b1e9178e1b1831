package issuer

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/project"
)

// ProjectKey opens project dir (relative to wd) and loads its development
// issuer key: what `micro-gw token issue` and `micro-gw apikey issue` sign
// with.
func ProjectKey(wd, dir string) (project.Project, crypto.Signer, error) {
	p, err := project.Open(wd, dir)
	if err != nil {
		if errors.Is(err, project.ErrNotExist) {
			return p, nil, fmt.Errorf("project %s does not exist", dir)
		}
		return p, nil, err
	}
	key, err := LoadKey(p.Path(project.IssuerKeyFile))
	if err != nil {
		return p, nil, fmt.Errorf("project %s has no usable development issuer key: %w", dir, err)
	}
	return p, key, nil
}

// CheckFlags checks the --ttl and --keytype of a command that issues a
// development credential.
func CheckFlags(ttl time.Duration, keyType string) error {
	if ttl <= 0 {
		return fmt.Errorf("--ttl must be positive, got %s", ttl)
	}
	switch strings.ToUpper(keyType) {
	case KeyTypeProduction, KeyTypeSandbox:
		return nil
	}
	return fmt.Errorf("--keytype must be %s or %s, got %q", KeyTypeProduction, KeyTypeSandbox, keyType)
}

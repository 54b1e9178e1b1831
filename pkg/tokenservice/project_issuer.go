package tokenservice

import (
	"fmt"

	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// ProjectIssuer returns the issuer and audience under which a project's
// conf trusts its development key: its first [[jwtTokenConfig]] whose
// certificateAlias is the development issuer's, else the defaults that
// `micro-gw init` writes. `micro-gw token issue` and `micro-gw dev` sign
// with them.
func ProjectIssuer(p project.Project) (iss, aud string, err error) {
	cfg, err := config.Load(p.Path(project.ConfFile), nil)
	if err != nil {
		return "", "", fmt.Errorf("read the project's configuration: %w", err)
	}
	for _, j := range cfg.JWT {
		if j.CertificateAlias == project.IssuerAlias {
			return j.Issuer, j.Audience, nil
		}
	}
	return issuer.DefaultIssuer, issuer.DefaultAudience, nil
}

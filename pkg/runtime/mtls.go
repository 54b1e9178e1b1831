package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/truststore"
)

// certChecker checks the client certificate of mutual TLS
// (docs/authentication.md, "Mutual TLS").
type certChecker struct {
	certs *auth.ClientCerts // nil when [mutualSSLConfig] is off: no certificate is asked for
}

func (c *certChecker) check(_ context.Context, r *http.Request, _ *place) (credential, *Fault, string) {
	if c.certs == nil {
		return nil, newFault(CodeMissingCredentials, ""), auth.ReasonNoCertificate
	}
	fp, aerr := c.certs.Verify(r.TLS)
	if aerr != nil {
		return nil, authFault(aerr), aerr.Reason
	}
	return certCredential(fp), nil, ""
}

// certCredential is a verified client certificate, by its fingerprint: a
// certificate rule revokes it.
type certCredential string

func (c certCredential) what() string { return "client certificate" }

func (c certCredential) jti() string { return "" }

func (c certCredential) revokedBy(rv *revocationRuntime) string {
	if rv.rules.Len() > 0 && rv.rules.MatchCertificate(string(c)) {
		return "certificate"
	}
	return ""
}

func (c certCredential) sandbox() bool { return false }

func (c certCredential) ruleToken() revocation.RuleToken { return revocation.RuleToken{} }

// A certificate is no application: application throttling policies do not
// apply.
func (c certCredential) application() string { return "" }

func (c certCredential) applicationTier() string { return "" }

func (c certCredential) subscriptionTier(string, string) string { return "" }

// hasScopes: a certificate holds no scopes.
func (c certCredential) hasScopes(scopes []string) bool { return len(scopes) == 0 }

var _ credential = certCredential("")

var errNoClientRoots = errors.New("the trust store (listenerConfig.trustStorePath) holds no certificate to verify client certificates against")

// provisionClientCerts reads the trust store's certificates as the roots of
// client certificates when [mutualSSLConfig] asks for them.
func (s *Server) provisionClientCerts(cc *certChecker) error {
	if s.cfg.MutualSSL.SSLVerifyClient == "" {
		return nil
	}
	roots, err := truststore.Certificates(s.cfg.Listener.TrustStorePath, s.cfg.Listener.TrustStorePassword)
	if err != nil {
		return s.cfg.Fault("listenerConfig.trustStorePath", err)
	}
	if len(roots) == 0 {
		return s.cfg.Fault("mutualSSLConfig.sslVerifyClient", errNoClientRoots)
	}
	capacity, ttl := 0, s.cfg.Caching.TokenCacheExpiryTime
	if s.cfg.Caching.Enabled {
		capacity = s.cfg.Caching.TokenCacheCapacity
	}
	cc.certs = auth.NewClientCerts(roots, capacity, ttl, s.opts.Now)
	return nil
}

// clientAuth sets the HTTPS listener's TLS to ask for client certificates:
// "require" fails the handshake without one that chains to the trust store,
// "optional" asks for one and leaves its check to the operations that
// require it (certChecker), which then answer 401 with the reason.
func (s *Server) clientAuth(tc *tls.Config) {
	cc, _ := s.checkers[SchemeMutualTLS].(*certChecker)
	if cc == nil || cc.certs == nil {
		return
	}
	tc.ClientCAs = cc.certs.Roots()
	switch s.cfg.MutualSSL.SSLVerifyClient {
	case config.VerifyClientRequire:
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	case config.VerifyClientOptional:
		tc.ClientAuth = tls.RequestClientCert
	}
}

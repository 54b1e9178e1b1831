package auth

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

var (
	errNoCertificate = &Error{Code: CodeMissingCredentials, Reason: ReasonNoCertificate, Detail: "Make sure your API request provides required credentials: a TLS client certificate"}
	errUntrustedCert = invalid(ReasonUntrustedCert, "The client certificate is not trusted")
)

// ClientCerts verifies the client certificates of mutual TLS against the
// trust store's certificates (never the system's roots: any public CA would
// then vouch for clients). With sslVerifyClient = "require" the TLS
// handshake has verified the chain already; with "optional" the listener
// only asks for a certificate, and it is verified here, on the operations
// that require one, so that an untrusted certificate gets 401 with its
// reason rather than a failed handshake. A chain that verified is
// remembered (by the hash of every certificate sent) until its first
// certificate expires, for tokenCacheExpiryTime at most.
type ClientCerts struct {
	roots *x509.CertPool
	cache *boundedCache[string] // the leaf's fingerprint; nil when [caching] is off
	now   func() time.Time
}

// NewClientCerts verifies against the certificates of roots; cache sizes
// as [caching] (capacity 0: nothing remembered).
func NewClientCerts(roots []*x509.Certificate, capacity int, ttl time.Duration, now func() time.Time) *ClientCerts {
	pool := x509.NewCertPool()
	for _, c := range roots {
		pool.AddCert(c)
	}
	if now == nil {
		now = time.Now
	}
	cc := &ClientCerts{roots: pool, now: now}
	if capacity > 0 && ttl > 0 {
		cc.cache = newBoundedCache[string](capacity, ttl)
	}
	return cc
}

// Roots is the pool the HTTPS listener verifies client certificates
// against (tls.Config.ClientCAs).
func (cc *ClientCerts) Roots() *x509.CertPool { return cc.roots }

// Verify returns the SHA-256 fingerprint of the connection's client
// certificate (revocation.CertificateFingerprint, the key of certificate
// rules) once its chain ends at a trusted root and it may be used for
// client authentication; 900902 without one, 900901 for one that is not
// trusted (expired, another root, a chain cut short, a certificate not for
// clients).
func (cc *ClientCerts) Verify(state *tls.ConnectionState) (string, *Error) {
	if state == nil || len(state.PeerCertificates) == 0 {
		return "", errNoCertificate
	}
	leaf := state.PeerCertificates[0]
	if len(state.VerifiedChains) > 0 {
		return revocation.CertificateFingerprint(leaf.Raw), nil // the handshake verified it
	}
	h := sha256.New()
	for _, c := range state.PeerCertificates {
		h.Write(c.Raw)
	}
	key := string(h.Sum(nil))
	now := cc.now()
	if cc.cache != nil {
		if fp, ok := cc.cache.get(key, now); ok {
			return fp, nil
		}
	}
	inter := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: cc.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return "", errUntrustedCert
	}
	fp := revocation.CertificateFingerprint(leaf.Raw)
	if cc.cache != nil {
		until := leaf.NotAfter
		for _, c := range chains[0] {
			if c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
		cc.cache.putUntil(key, fp, until, now)
	}
	return fp, nil
}

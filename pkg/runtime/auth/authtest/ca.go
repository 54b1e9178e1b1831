package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/certs"
)

// CA is a certificate authority made for a test, to issue the client
// certificates of mutual TLS.
type CA struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	chain []*x509.Certificate // from this CA up, its root excluded when it is one
}

// NewCA makes a self-signed root CA. With dir set, its certificate is
// written there as <cn>.pem, so that a trust store folder trusts it.
func NewCA(t testing.TB, cn, dir string) *CA {
	t.Helper()
	ca := newCA(t, cn, nil)
	if dir != "" {
		block := certs.PEM(ca.Cert.Raw)
		if err := os.WriteFile(filepath.Join(dir, cn+".pem"), block, 0o600); err != nil {
			t.Fatalf("authtest: write CA: %v", err)
		}
	}
	return ca
}

// Intermediate makes a CA signed by ca.
func (ca *CA) Intermediate(t testing.TB, cn string) *CA {
	t.Helper()
	return newCA(t, cn, ca)
}

func newCA(t testing.TB, cn string, parent *CA) *CA {
	key := newKey(t)
	tmpl := template(t, cn, time.Now(), 24*time.Hour)
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	signer, signerCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, signerCert = parent.Key, parent.Cert
	}
	cert := create(t, tmpl, signerCert, key.Public(), signer)
	ca := &CA{Cert: cert, Key: key}
	if parent != nil {
		ca.chain = append([]*x509.Certificate{cert}, parent.chain...)
	}
	return ca
}

// ClientCert issues a client certificate (ExtKeyUsageClientAuth) for cn,
// valid from an hour ago for the given time (a negative one has expired),
// with the chain of intermediates up to the root, as a TLS client sends it.
func (ca *CA) ClientCert(t testing.TB, cn string, valid time.Duration) tls.Certificate {
	t.Helper()
	return ca.leaf(t, cn, valid, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
}

// ServerOnlyCert issues a certificate for servers only
// (ExtKeyUsageServerAuth), which must not pass as a client's.
func (ca *CA) ServerOnlyCert(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	return ca.leaf(t, cn, time.Hour, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
}

func (ca *CA) leaf(t testing.TB, cn string, valid time.Duration, usage []x509.ExtKeyUsage) tls.Certificate {
	key := newKey(t)
	tmpl := template(t, cn, time.Now(), valid)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = usage
	if valid < 0 {
		tmpl.NotBefore = tmpl.NotAfter.Add(-time.Hour)
	}
	cert := create(t, tmpl, ca.Cert, key.Public(), ca.Key)
	out := tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	for _, c := range ca.chain {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	return out
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("authtest: create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("authtest: parse certificate: %v", err)
	}
	return cert
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := certs.NewKey()
	if err != nil {
		t.Fatalf("authtest: generate key: %v", err)
	}
	return key
}

func template(t testing.TB, cn string, now time.Time, valid time.Duration) *x509.Certificate {
	tmpl, err := certs.Template(pkix.Name{CommonName: cn}, now, valid)
	if err != nil {
		t.Fatalf("authtest: certificate serial: %v", err)
	}
	return tmpl
}

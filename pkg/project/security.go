package project

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/certs"
)

// certValidity is how long the certificates made at init are valid: long
// enough that a development project never meets an expired one.
const certValidity = 10 * 365 * 24 * time.Hour

// WriteSecurity makes the security files of a project fresh: the TLS key pair
// (ECDSA P-256, SAN localhost, 127.0.0.1, ::1), the development issuer's RSA
// 2048 key and its self-signed certificate in the trust store. Private keys
// are written 0600.
func WriteSecurity(root string) error {
	p := Project{Root: root}
	if err := os.MkdirAll(p.Path(TrustStoreDir), 0o755); err != nil {
		return fmt.Errorf("make security folder: %w", err)
	}
	now := time.Now()

	tlsKey, err := certs.NewKey()
	if err != nil {
		return fmt.Errorf("generate tls key: %w", err)
	}
	tlsCert, err := selfSigned(tlsKey, pkix.Name{CommonName: "localhost", Organization: []string{"micro-gw"}}, now, func(c *x509.Certificate) {
		certs.ForLoopback(c)
		c.KeyUsage = x509.KeyUsageDigitalSignature
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	})
	if err != nil {
		return fmt.Errorf("make tls certificate: %w", err)
	}
	if err := writePEM(p.Path(TLSCertFile), "CERTIFICATE", tlsCert, 0o644); err != nil {
		return err
	}
	if err := writePrivateKey(p.Path(TLSKeyFile), tlsKey); err != nil {
		return err
	}

	issuerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate issuer key: %w", err)
	}
	issuerCert, err := selfSigned(issuerKey, pkix.Name{CommonName: IssuerCommonName, Organization: []string{"micro-gw"}}, now, func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageDigitalSignature
	})
	if err != nil {
		return fmt.Errorf("make issuer certificate: %w", err)
	}
	if err := writePrivateKey(p.Path(IssuerKeyFile), issuerKey); err != nil {
		return err
	}
	return writePEM(p.Path(IssuerCertFile), "CERTIFICATE", issuerCert, 0o644)
}

// selfSigned is a certificate of subject signed by key, valid for
// certValidity from now, with what set adds to it (names, usages).
func selfSigned(key crypto.Signer, subject pkix.Name, now time.Time, set func(*x509.Certificate)) ([]byte, error) {
	tmpl, err := certs.Template(subject, now, certValidity)
	if err != nil {
		return nil, err
	}
	set(tmpl)
	return certs.SelfSigned(tmpl, key)
}

func writePrivateKey(file string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(file), err)
	}
	return writePEM(file, "PRIVATE KEY", der, 0o600)
}

// writePEM writes one PEM block with perm, also when file exists with wider
// permissions (init --force over an old project).
func writePEM(file, typ string, der []byte, perm os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(file, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Chmod(file, perm); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

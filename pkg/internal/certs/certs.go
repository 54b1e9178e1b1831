// Package certs makes the certificates micro-gw signs itself: the TLS
// certificate and issuer of a new project, the token service certificate of
// `micro-gw dev`, and the certificate authorities and servers of tests. They
// share a key kind, a serial, a validity that starts an hour early and the
// names of this machine, so that one change reaches them all.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// NewKey is a fresh ECDSA P-256 key, the kind micro-gw makes for TLS.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// Template is a certificate of subject with a random serial, valid from an
// hour before now (so that a peer whose clock lags a little accepts it) to
// now+valid. BasicConstraintsValid is set, so that IsCA is what the caller
// says. The error is the random source's.
func Template(subject pkix.Name, now time.Time, valid time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(valid),
		BasicConstraintsValid: true,
	}, nil
}

// ForLoopback makes tmpl name this machine: localhost, 127.0.0.1 and ::1.
func ForLoopback(tmpl *x509.Certificate) *x509.Certificate {
	tmpl.DNSNames = []string{"localhost"}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	return tmpl
}

// SelfSigned is tmpl signed by its own key, in DER.
func SelfSigned(tmpl *x509.Certificate, key crypto.Signer) ([]byte, error) {
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// PEM is a DER certificate in PEM.
func PEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

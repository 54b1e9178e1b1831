// Package truststore reads the trust store of a micro-gw.conf
// ([listenerConfig] trustStorePath) as the certificates that outgoing TLS
// connections (backends, etcd, the broker) verify servers against. The
// gateway and `micro-gw revoke` both read it here, so that a broker or etcd
// with a private CA is trusted by both or by neither.
//
// The JWT issuers' keys come from the same store by alias; that reading,
// with its per-alias errors, is pkg/runtime/auth's.
package truststore

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// Pool returns the system's roots and every certificate of the trust store
// at path. An empty path, or one that does not exist, adds nothing: a
// gateway whose issuers use jwksUrl needs no store, and a server that the
// store should have vouched for fails its TLS handshake with an unknown
// authority, which names the problem.
func Pool(path, password string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	certs, err := Certificates(path, password)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// Certificates reads the trust store at path: a folder of PEM files
// (<alias>.pem, also .crt and .cer), a single PEM file, or a PKCS#12 file
// opened with password. In a folder, a file without a certificate (a key,
// notes) is skipped; a certificate that does not parse is an error, as is a
// single PEM file without one.
func Certificates(path, password string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, nil
	}
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", path, err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", path, err)
		}
		if isPEMName(path) {
			certs, err := pemCertificates(path, data)
			if err == nil && len(certs) == 0 {
				err = fmt.Errorf("trust store %s: no certificate in it", path)
			}
			return certs, err
		}
		certs, err := pkcs12.DecodeTrustStore(data, password)
		if err != nil {
			return nil, fmt.Errorf("trust store %s (read as PKCS#12): %w", path, err)
		}
		return certs, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", path, err)
	}
	var certs []*x509.Certificate
	for _, e := range entries {
		if e.IsDir() || !isPEMName(e.Name()) {
			continue
		}
		file := filepath.Join(path, e.Name())
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		cs, err := pemCertificates(file, data)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cs...)
	}
	return certs, nil
}

func isPEMName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".pem", ".crt", ".cer":
		return true
	}
	return false
}

// pemCertificates returns the CERTIFICATE blocks of data, skipping others.
func pemCertificates(file string, data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return certs, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", file, err)
		}
		certs = append(certs, c)
	}
}

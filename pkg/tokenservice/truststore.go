package tokenservice

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// TLSConfig returns the TLS settings for reaching the broker and etcd: the
// system's roots plus every certificate of the conf's trust store (a folder
// of <alias>.pem files, or a PKCS#12 file), so that a broker or etcd with a
// private CA is trusted the same way by the gateway and by `micro-gw revoke`.
// An empty path gives the system's roots alone.
func TLSConfig(trustStorePath, password string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if trustStorePath == "" {
		return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
	}
	certs, err := readTrustStore(trustStorePath, password)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func readTrustStore(path, password string) ([]*x509.Certificate, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	if !info.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		if strings.HasSuffix(strings.ToLower(path), ".pem") {
			return parsePEMCerts(path, data)
		}
		certs, err := pkcs12.DecodeTrustStore(data, password)
		if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", path, err)
		}
		return certs, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var certs []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		cs, err := parsePEMCerts(f, data)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cs...)
	}
	return certs, nil
}

func parsePEMCerts(file string, data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
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
	if len(certs) == 0 {
		return nil, fmt.Errorf("trust store %s: no certificate in it", file)
	}
	return certs, nil
}

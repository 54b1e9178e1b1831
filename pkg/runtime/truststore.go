package runtime

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

// trustedRoots is the pool the gateway's outgoing TLS connections (backends,
// etcd, the broker) verify servers against: the system's roots and every
// certificate of the trust store ([listenerConfig] trustStorePath, a folder
// of <alias>.pem files or a PKCS#12 file). A missing trust store adds
// nothing.
func trustedRoots(path, password string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if path == "" {
		return pool, nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return pool, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", path, err)
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", path, err)
		}
		certs, err := pkcs12.DecodeTrustStore(data, password)
		if err != nil {
			return nil, fmt.Errorf("trust store %s: %w", path, err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
		return pool, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", path, err)
	}
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if e.IsDir() || (ext != ".pem" && ext != ".crt" && ext != ".cer") {
			continue
		}
		file := filepath.Join(path, name)
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		for rest := data; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("trust store %s: %w", file, err)
			}
			pool.AddCert(cert)
		}
	}
	return pool, nil
}

package auth

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// loadTrustStore reads the trust store: a folder of <alias>.pem files (a
// certificate, or a public key) or a PKCS#12 file (.p12, .pfx) whose
// entries are named by their friendly names (keytool aliases). need lists
// the aliases the configuration refers to: an unreadable one is an error,
// other unreadable files only a warning, so that one stray file does not
// stop the gateway. Whether every needed alias is there is the caller's
// check, which can name the issuer that needs it.
func loadTrustStore(path, password string, need []string, log *slog.Logger) (map[string]crypto.PublicKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	var keys map[string]crypto.PublicKey
	if st.IsDir() {
		keys, err = loadPEMFolder(path, need, log)
	} else {
		keys, err = loadPKCS12(path, password, log)
	}
	if err != nil {
		return nil, err
	}
	return keys, nil
}

func loadPEMFolder(dir string, need []string, log *slog.Logger) (map[string]crypto.PublicKey, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	keys := map[string]crypto.PublicKey{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.EqualFold(filepath.Ext(name), ".pem") {
			continue
		}
		alias := strings.TrimSuffix(name, filepath.Ext(name))
		file := filepath.Join(dir, name)
		pub, err := readPEMKey(file)
		if err != nil {
			if contains(need, alias) {
				return nil, fmt.Errorf("trust store %s: %w", file, err)
			}
			log.Warn("trust store: skipping an unreadable file", "file", file, "error", err)
			continue
		}
		keys[alias] = pub
	}
	return keys, nil
}

// readPEMKey reads the first certificate or public key of a PEM file.
func readPEMKey(file string) (crypto.PublicKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no CERTIFICATE or PUBLIC KEY block")
		}
		var pub crypto.PublicKey
		switch block.Type {
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			pub = cert.PublicKey
		case "PUBLIC KEY":
			if pub, err = x509.ParsePKIXPublicKey(block.Bytes); err != nil {
				return nil, fmt.Errorf("parse public key: %w", err)
			}
		case "RSA PUBLIC KEY":
			if pub, err = x509.ParsePKCS1PublicKey(block.Bytes); err != nil {
				return nil, fmt.Errorf("parse public key: %w", err)
			}
		default:
			continue
		}
		if _, err := algsFor(pub); err != nil {
			return nil, err
		}
		return pub, nil
	}
}

func loadPKCS12(file, password string, log *slog.Logger) (map[string]crypto.PublicKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	// go-pkcs12 checks the MAC (the password) and the structure; it does not
	// return the friendly names, which p12Entries reads.
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err != nil {
		return nil, fmt.Errorf("trust store %s: %w", file, err)
	}
	entries, err := p12Entries(data, password)
	if err != nil || len(entries) != len(certs) {
		// Legacy encryptions (RC2, 3DES) hide the names from p12Entries:
		// fall back to the certificates' common names, and say so.
		log.Warn("trust store: cannot read the aliases of this PKCS#12 file, using certificate common names; re-export it with AES (PBES2) to keep aliases",
			"file", file, "error", err)
		entries = entries[:0]
		for _, c := range certs {
			entries = append(entries, p12Entry{name: c.Subject.CommonName, cert: c})
		}
	}
	keys := map[string]crypto.PublicKey{}
	for _, e := range entries {
		if _, err := algsFor(e.cert.PublicKey); err != nil {
			log.Warn("trust store: skipping an entry", "file", file, "alias", e.name, "error", err)
			continue
		}
		keys[e.name] = e.cert.PublicKey
	}
	return keys, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

package revoke

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// certificateKey reads --cert: the SHA-256 fingerprint of a client
// certificate (64 hex digits, colons allowed, as `openssl x509 -fingerprint
// -sha256` prints it), or a certificate file (PEM or DER) whose fingerprint
// is taken. The key is what gateways compare: the fingerprint of the DER,
// in lowercase hex (revocation.CertificateFingerprint).
func certificateKey(arg string) (string, error) {
	hex := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(arg), "sha256 Fingerprint="), ":", ""))
	if isHex64(hex) {
		return hex, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return "", fmt.Errorf("--cert: neither a SHA-256 fingerprint (64 hex digits) nor a certificate file: %w", err)
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return "", fmt.Errorf("--cert %s: the first PEM block is a %s, not a CERTIFICATE", arg, block.Type)
		}
		der = block.Bytes
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return "", fmt.Errorf("--cert %s: not a certificate (PEM or DER): %w", arg, err)
	}
	return revocation.CertificateFingerprint(der), nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

package devservices

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/certs"
)

// selfSignedCert makes a certificate for the token service, valid for
// localhost and the loopback addresses, so that the seed's
// `curl -k https://localhost:8243/revoke` works. It returns the certificate
// in PEM too, for clients that want to trust it instead of using -k.
func selfSignedCert(now time.Time) (tls.Certificate, []byte, error) {
	key, err := certs.NewKey()
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("make token service key: %w", err)
	}
	tmpl, err := certs.Template(pkix.Name{CommonName: "localhost", Organization: []string{"micro-gw dev token service"}}, now, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("make certificate serial: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.IsCA = true
	der, err := certs.SelfSigned(certs.ForLoopback(tmpl), key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("make token service certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certs.PEM(der), nil
}

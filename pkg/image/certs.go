package image

import (
	"bytes"
	"encoding/pem"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CACertsPath is where the image holds its CA certificates: the first file
// Go's crypto/x509 reads on Linux, and where Debian keeps its bundle.
const CACertsPath = "/etc/ssl/certs/ca-certificates.crt"

// caBundle is the Mozilla (NSS) root store that golang.org/x/crypto's
// x509roots/fallback carries, as one PEM file. It comes from a module
// pinned in go.mod rather than from the building machine's own
// /etc/ssl/certs, so that two machines building the same project with the
// same toolkit make the same image. Roots that NSS trusts only up to a date
// (a constraint a PEM bundle cannot say) are left out rather than trusted
// without end.
func caBundle() []byte {
	var b bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return b.Bytes()
}

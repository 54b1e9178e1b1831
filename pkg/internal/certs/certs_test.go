package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"
)

func TestSelfSignedLoopback(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	tmpl, err := Template(pkix.Name{CommonName: "here"}, now, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := SelfSigned(ForLoopback(tmpl), key)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(PEM(der))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("PEM: %v", block)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotBefore.Equal(now.Add(-time.Hour)) || !cert.NotAfter.Equal(now.Add(2*time.Hour)) {
		t.Errorf("valid %s to %s, want an hour before %s to two after", cert.NotBefore, cert.NotAfter, now)
	}
	if cert.IsCA || cert.SerialNumber.Sign() <= 0 {
		t.Errorf("IsCA %v, serial %v", cert.IsCA, cert.SerialNumber)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := cert.VerifyHostname(name); err != nil {
			t.Errorf("VerifyHostname(%s): %v", name, err)
		}
	}
	if err := cert.CheckSignatureFrom(cert); err == nil {
		t.Error("a certificate that is not a CA checked as its own signer")
	}
}

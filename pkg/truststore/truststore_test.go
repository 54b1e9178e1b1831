package truststore

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// trusts reports whether a client with the pool of store reaches srv.
func trusts(t *testing.T, store string, srv *httptest.Server) bool {
	t.Helper()
	pool, err := Pool(store, "")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// Every form of store trusts the server whose certificate it holds: a
// folder of .pem, .crt or .cer files, and a single PEM file (a bundle).
func TestPoolTrustsTheStore(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	empty := t.TempDir()
	if trusts(t, empty, srv) {
		t.Fatal("an unknown self-signed server was trusted")
	}
	for _, name := range []string{"broker.pem", "broker.crt", "broker.CER"} {
		dir := t.TempDir()
		write(t, filepath.Join(dir, name), certPEM)
		write(t, filepath.Join(dir, "notes.pem"), []byte("no certificate here")) // skipped
		if !trusts(t, dir, srv) {
			t.Errorf("a server in the folder as %s is not trusted", name)
		}
	}
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	write(t, bundle, append([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), certPEM...))
	if !trusts(t, bundle, srv) {
		t.Error("a server in a single PEM file is not trusted")
	}
	if trusts(t, filepath.Join(empty, "missing"), srv) {
		t.Error("a missing store trusted the server")
	}
}

func TestCertificatesErrors(t *testing.T) {
	dir := t.TempDir()
	noCert := filepath.Join(dir, "only-notes.pem")
	write(t, noCert, []byte("not a certificate"))
	if _, err := Certificates(noCert, ""); err == nil {
		t.Error("a single PEM file without a certificate accepted")
	}
	badCert := t.TempDir()
	write(t, filepath.Join(badCert, "bad.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}))
	if _, err := Certificates(badCert, ""); err == nil {
		t.Error("a certificate that does not parse accepted")
	}
	p12 := filepath.Join(dir, "store.p12")
	write(t, p12, []byte("not PKCS#12"))
	if _, err := Certificates(p12, "pw"); err == nil {
		t.Error("a broken PKCS#12 file accepted")
	}
	if certs, err := Certificates("", ""); err != nil || certs != nil {
		t.Errorf("no store: %v, %v", certs, err)
	}
}

func write(t *testing.T, file string, data []byte) {
	t.Helper()
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

package tokenservice

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestTLSConfigTrustsTheTrustStore: a server whose certificate is in the
// trust store folder is trusted, one that is not is refused.
func TestTLSConfigTrustsTheTrustStore(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()

	dir := t.TempDir()
	client := func() *http.Client {
		cfg, err := TLSConfig(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	if _, err := client().Get(srv.URL); err == nil {
		t.Fatal("an unknown self-signed server was trusted")
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "broker.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	resp, err := client().Get(srv.URL)
	if err != nil {
		t.Fatalf("a server in the trust store is not trusted: %v", err)
	}
	resp.Body.Close()
}

func TestTLSConfigErrors(t *testing.T) {
	if _, err := TLSConfig(filepath.Join(t.TempDir(), "missing"), ""); err == nil {
		t.Error("a missing trust store accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := TLSConfig(dir, ""); err == nil {
		t.Error("a .pem without a certificate accepted")
	}
	if cfg, err := TLSConfig("", ""); err != nil || cfg.RootCAs == nil {
		t.Errorf("no trust store: %v, %v; want the system roots", cfg, err)
	}
}

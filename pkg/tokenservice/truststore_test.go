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
	store := filepath.Join(t.TempDir(), "store.p12")
	if err := os.WriteFile(store, []byte("not PKCS#12"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := TLSConfig(store, "pw"); err == nil {
		t.Error("a broken trust store accepted")
	}
	if cfg, err := TLSConfig("", ""); err != nil || cfg.RootCAs == nil {
		t.Errorf("no trust store: %v, %v; want the system roots", cfg, err)
	}
}

package runtime

import (
	"io"
	"strings"
	"testing"
)

// onlyReader hides a body's length, so the client sends it chunked.
type onlyReader struct{ io.Reader }

func TestRequestBodyLimit(t *testing.T) {
	be := newBackend(t, "prod")
	cfg := testConfig(t)
	cfg.Listener.MaxRequestBodySize = 1024
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	url := s.testURL("http", "/petstore/v1/store/order")

	resp, body := do(t, "POST", url, strings.NewReader(strings.Repeat("a", 1024)))
	if resp.StatusCode != 200 || be.lastBody() != strings.Repeat("a", 1024) {
		t.Fatalf("a body at the limit: %d %s", resp.StatusCode, body)
	}
	hits := be.hits.Load()

	resp, body = do(t, "POST", url, strings.NewReader(strings.Repeat("a", 1025)))
	wantFault(t, resp, body, 413, CodeRequestTooLarge)
	if be.hits.Load() != hits {
		t.Error("a body declared over the limit reached the backend")
	}

	// A chunked body has no length to refuse up front: it is cut when it
	// passes the limit, and the client still gets the 413 fault.
	resp, body = do(t, "POST", url, onlyReader{strings.NewReader(strings.Repeat("b", 64<<10))})
	wantFault(t, resp, body, 413, CodeRequestTooLarge)
	if got := be.lastBody(); len(got) > 1024 && strings.HasPrefix(got, "b") {
		t.Errorf("the backend got %d bytes of a body over the limit", len(got))
	}
}

func TestRequestBodyNoLimit(t *testing.T) {
	be := newBackend(t, "prod")
	cfg := testConfig(t)
	cfg.Listener.MaxRequestBodySize = 0
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	big := strings.Repeat("c", 256<<10)
	resp, body := do(t, "POST", s.testURL("http", "/petstore/v1/store/order"), onlyReader{strings.NewReader(big)})
	if resp.StatusCode != 200 || be.lastBody() != big {
		t.Fatalf("with no limit a large chunked body must pass: %d %s", resp.StatusCode, body)
	}
}

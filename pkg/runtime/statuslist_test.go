package runtime

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
)

const statusUnavailableBody = `{"fault":{"code":900960,"message":"Token status list unavailable","description":"Token status list unavailable. The status list of the access token could not be fetched; retry shortly"}}` + "\n"

// statusListServer serves a Status List Token that a test can replace.
type statusListServer struct {
	*httptest.Server
	token    atomic.Value // string; "" answers 503
	requests atomic.Int64
}

func newStatusListServer(t *testing.T) *statusListServer {
	s := &statusListServer{}
	s.token.Store("")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		tok := s.token.Load().(string)
		if tok == "" || r.Header.Get("Accept") != statuslist.MediaType {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", statuslist.MediaType)
		_, _ = w.Write([]byte(tok))
	}))
	t.Cleanup(s.Close)
	return s
}

// signList signs statuses (bits each) as the list at uri, with ttl.
func signList(t *testing.T, iss *authtest.Issuer, uri string, bits int, statuses []uint8, ttl time.Duration) string {
	t.Helper()
	l, err := statuslist.NewList(bits, len(statuses))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range statuses {
		l.Set(uint64(i), s)
	}
	claims := jwt.MapClaims{"iss": iss.Name, "sub": uri, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"status_list": map[string]any{"bits": bits, "lst": l.Encode()}}
	if ttl > 0 {
		claims["ttl"] = int64(ttl / time.Second)
	}
	return iss.Sign(t, claims, map[string]any{"typ": statuslist.TokenType})
}

func statusToken(t *testing.T, iss *authtest.Issuer, uri string, idx int) string {
	return iss.Token(t, map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": idx, "uri": uri}}})
}

// TestStatusList: a token is refused (401 900901) unless its entry in its
// issuer's list is VALID; a flipped entry in a new list is enforced within
// the list's ttl; a list that cannot be had gets 503 900960 (fail closed);
// a list on a host outside allowedHosts is never fetched; a list signed by
// no trusted issuer, or whose sub is not its URL, is not used.
func TestStatusList(t *testing.T) {
	iss, cfg := issuerConfig(t)
	other := authtest.NewIssuer(t, authtest.WithName("https://untrusted/token"))
	lists := newStatusListServer(t)
	uri := lists.URL + "/statuslists/1"
	lists.token.Store(signList(t, iss, uri, 2, []uint8{0, 1, 2, 0, 3}, time.Second))
	cfg.StatusList.Enabled = true
	cfg.StatusList.AllowedHosts = []string{"127.0.0.1"}
	be := newBackend(t, "prod")
	s := startServer(t, petstore(ep(be.URL), nil), cfg, Options{})
	waitReady(t, s)
	url := s.testURL("http", "/petstore/v1/pet/1")
	call := func(tok string) (int, string) {
		resp, body := do(t, "GET", url, nil, "Authorization", "Bearer "+tok)
		return resp.StatusCode, body
	}

	valid := statusToken(t, iss, uri, 0)
	for range 2 { // fetched once, then from the held list (and the token cache)
		if code, body := call(valid); code != 200 {
			t.Fatalf("VALID entry: %d %s", code, body)
		}
	}
	if code, body := call(iss.Token(t, nil)); code != 200 {
		t.Errorf("a token without a status claim: %d %s", code, body)
	}
	for name, idx := range map[string]int{"INVALID": 1, "SUSPENDED": 2, "application-specific 3": 4, "out of range": 1000} {
		if code, body := call(statusToken(t, iss, uri, idx)); code != 401 || !strings.Contains(body, `"code":900901`) {
			t.Errorf("%s entry: %d %s, want 401 900901", name, code, body)
		}
	}
	if n := lists.requests.Load(); n != 1 {
		t.Errorf("the list was fetched %d times for the first requests, want once", n)
	}
	if code, _ := call(iss.Token(t, map[string]any{"status": "revoked"})); code != 401 {
		t.Errorf("a status claim that cannot be read: %d, want 401", code)
	}

	// A host outside allowedHosts is never asked.
	elsewhere := strings.Replace(lists.URL, "127.0.0.1", "localhost", 1) + "/statuslists/1"
	before := lists.requests.Load()
	if code, body := call(statusToken(t, iss, elsewhere, 0)); code != 401 || !strings.Contains(body, "allowed host") {
		t.Errorf("a list on another host: %d %s, want 401", code, body)
	}
	if lists.requests.Load() != before {
		t.Error("the gateway fetched a list from a host outside allowedHosts")
	}

	// Entry 0 flipped to INVALID in a new list: refused within the ttl (1 s)
	// plus a refresh round, without any request asking for it.
	lists.token.Store(signList(t, iss, uri, 2, []uint8{1, 1, 2, 0, 3}, time.Second))
	flipped := time.Now()
	waitFor(t, func() bool { code, _ := call(valid); return code == 401 })
	t.Logf("flipped entry refused after %v", time.Since(flipped))

	// Lists that must not be used: another issuer's, a sub that is not the URL.
	for name, tok := range map[string]string{
		"signed by an untrusted issuer": signList(t, other, lists.URL+"/statuslists/2", 1, []uint8{0}, 0),
		"sub not the URL":               signList(t, iss, lists.URL+"/statuslists/other", 1, []uint8{0}, 0),
	} {
		lists.token.Store(tok)
		if code, body := call(statusToken(t, iss, lists.URL+"/statuslists/2", 0)); code != 503 || body != statusUnavailableBody {
			t.Errorf("list %s: %d %s, want 503 900960", name, code, body)
		}
		time.Sleep(statuslist.FailureHold)
	}

	// A list that was never fetched and cannot be: 503, fail closed.
	lists.token.Store("")
	if code, body := call(statusToken(t, iss, lists.URL+"/statuslists/3", 0)); code != 503 || body != statusUnavailableBody {
		t.Errorf("an unreachable list: %d %s, want 503 900960", code, body)
	}
	_, metrics := do(t, "GET", s.testURL("admin", "/metrics"), nil)
	for _, want := range []string{"\nmicrogw_statuslist_lists 1\n", `microgw_statuslist_fetches_total{result="error"}`, "microgw_statuslist_oldest_age_seconds", "microgw_statuslist_bytes 2\n"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

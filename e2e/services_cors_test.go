//go:build e2e_services

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// svcCORSPage calls the gateway from the page's own origin, as a front end
// does, and posts what it could read back to its own server: a call with a
// token (a preflight, then the backend's JSON), one with a bad token (a
// preflight, then the 401's JSON) and one without a token (a simple request
// the browser sends without a preflight, then the 401's JSON).
var svcCORSPage = template.Must(template.New("page").Parse(`<!doctype html>
<html><body>running<script>
const gateway = {{.Gateway}};
async function call(name, headers) {
  try {
    const r = await fetch(gateway + "/svc/v1/pets", {headers: headers});
    return {status: r.status, body: await r.json()};
  } catch (e) {
    return {error: String(e)};
  }
}
(async () => {
  const out = {
    token: await call("token", {"Authorization": "Bearer " + {{.Token}}}),
    badToken: await call("badToken", {"Authorization": "Bearer not.a.token"}),
    noToken: await call("noToken", {}),
  };
  await fetch("/result", {method: "POST", body: JSON.stringify(out)});
  document.body.textContent = "done " + JSON.stringify(out);
})();
</script></body></html>`))

// svcCORSAnswer is what the page read of one call.
type svcCORSAnswer struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
	Error  string         `json:"error"`
}

func (a svcCORSAnswer) faultCode() int {
	f, _ := a.Body["fault"].(map[string]any)
	c, _ := f["code"].(float64)
	return int(c)
}

// svcCORSOrigin is a loopback origin serving svcCORSPage and taking its
// results. Gateway and Token are set before the page is visited; they are
// read under mu because the only thing ordering that write before the
// handler's read is the browser, which the race detector cannot see.
type svcCORSOrigin struct {
	srv            *httptest.Server
	mu             sync.Mutex
	gateway, token string
	results        map[string]svcCORSAnswer
}

// point tells the page which gateway to call, with which token.
func (o *svcCORSOrigin) point(gateway, token string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gateway, o.token = gateway, token
}

func svcNewCORSOrigin(t *testing.T) *svcCORSOrigin {
	o := &svcCORSOrigin{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			o.mu.Lock()
			data := map[string]string{"Gateway": o.gateway, "Token": o.token}
			o.mu.Unlock()
			svcCORSPage.Execute(w, data)
		case "/result":
			var res map[string]svcCORSAnswer
			data, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(data, &res); err != nil {
				t.Errorf("the page posted %q: %v", data, err)
			}
			o.mu.Lock()
			o.results = res
			o.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// visit opens the origin's page in headless Chromium (Debian's chromium,
// with the flags docs/testing.md gives), waits until its scripts are done,
// and returns what the page read.
func (o *svcCORSOrigin) visit(t *testing.T) map[string]svcCORSAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=20000", "--dump-dom", o.srv.URL+"/")
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.results == nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = svcTail(string(ee.Stderr), 30)
		}
		t.Fatalf("the page at %s posted no result (chromium: %v)\nDOM:\n%s\nstderr:\n%s", o.srv.URL, err, out, stderr)
	}
	return o.results
}

// TestServicesCORSBrowser: a page on one loopback origin calls the built
// gateway on another, in a real browser. From the origin [corsConfig]
// allows, the page reads the JSON of every answer, the 401s too; from any
// other origin the browser blocks every call, and the calls it would have
// preflighted never reach the gateway's backend.
func TestServicesCORSBrowser(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatal("this suite needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
	}
	p := svcSharedProject(t)
	allowed, other := svcNewCORSOrigin(t), svcNewCORSOrigin(t)
	conf := p.writeConf(t, "cors", svcConf{Tables: []string{fmt.Sprintf(`[corsConfig]
corsConfigurationEnabled = true
accessControlAllowOrigins = [%q]
accessControlAllowHeaders = ["authorization"]
accessControlAllowMethods = ["GET"]`, allowed.srv.URL)}})
	g := p.startGateway(t, "cors", conf)
	token := p.issueToken(t, svcJTI("cors"))
	for _, o := range []*svcCORSOrigin{allowed, other} {
		o.point(fmt.Sprintf("http://127.0.0.1:%d", g.HTTP), token)
	}

	hits := p.BackendHits()
	got := allowed.visit(t)
	if a := got["token"]; a.Status != http.StatusOK || a.Body["backend"] != "svc" {
		t.Errorf("allowed origin, with a token: %+v", a)
	}
	if a := got["badToken"]; a.Status != http.StatusUnauthorized || a.faultCode() != 900901 {
		t.Errorf("allowed origin, a bad token: %+v (the page must read the 401)", a)
	}
	if a := got["noToken"]; a.Status != http.StatusUnauthorized || a.faultCode() != 900902 {
		t.Errorf("allowed origin, no token: %+v (the page must read the 401)", a)
	}
	if n := p.BackendHits() - hits; n != 1 {
		t.Errorf("the backend got %d requests, want the one with a token (preflights are the gateway's)", n)
	}

	hits = p.BackendHits()
	got = other.visit(t)
	for _, name := range []string{"token", "badToken", "noToken"} {
		if a := got[name]; a.Error == "" || a.Status != 0 {
			t.Errorf("another origin, %s: the page read %+v; the browser must block it", name, a)
		}
	}
	if n := p.BackendHits() - hits; n != 0 {
		t.Errorf("another origin: the backend got %d requests; the refused preflight must stop the call", n)
	}
	logs := g.logs.String()
	if !strings.Contains(logs, "CORS preflight refused") || strings.Contains(logs, token) {
		t.Errorf("gateway log: the refused preflight is not logged, or the token is:\n%s", svcTail(logs, 40))
	}
}

//go:build e2e_services

// Issue 17, end to end: Token Status Lists made and signed by an independent implementation of
// the draft, the npm package @sd-jwt/jwt-status-list (e2e/statuslist/make-list.mjs; .ci/run
// installs it with npm ci), read by a built gateway.
package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// svcNodeList runs make-list.mjs: a Status List Token for uri of statuses (bits each), signed
// with the project's issuer key as the project's trusted issuer, with ttl seconds (0: none).
func svcNodeList(t *testing.T, p *svcProject, uri string, bits int, statuses []int, ttl int) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join("statuslist", "node_modules", "@sd-jwt", "jwt-status-list")); err != nil {
		t.Fatalf("@sd-jwt/jwt-status-list is not installed: run `npm ci` in e2e/statuslist (.ci/run does): %v", err)
	}
	s := make([]string, len(statuses))
	for i, v := range statuses {
		s[i] = strconv.Itoa(v)
	}
	args := []string{"statuslist/make-list.mjs", "--key", filepath.Join(p.Root, project.IssuerKeyFile), "--kid", "wso2apim",
		"--iss", "https://localhost:9443/oauth2/token", "--uri", uri, "--bits", strconv.Itoa(bits), "--statuses", strings.Join(s, ",")}
	if ttl > 0 {
		args = append(args, "--ttl", strconv.Itoa(ttl))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("node make-list.mjs: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// svcStatusToken is a token of the project's issuer whose status claim names idx of the list at uri.
func svcStatusToken(t *testing.T, p *svcProject, uri string, idx int) string {
	t.Helper()
	key, err := issuer.LoadKey(filepath.Join(p.Root, project.IssuerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Sign(key, "wso2apim", issuer.Claims{Issuer: "https://localhost:9443/oauth2/token",
		Audience: []string{"http://org.wso2.apimgt/gateway"}, TTL: time.Hour,
		Extra: map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": idx, "uri": uri}}}})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Lists of 1-, 2- and 8-bit statuses made by the npm package: VALID entries pass, INVALID,
// SUSPENDED and the others get 401 900901; an entry flipped to INVALID in a new list (ttl 2 s)
// is refused within the ttl, with no request asking for the new list.
func TestServicesStatusListNPM(t *testing.T) {
	p := svcSharedProject(t)
	var mu sync.Mutex
	lists := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tok, ok := lists[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/statuslist+jwt")
		_, _ = w.Write([]byte(tok))
	}))
	defer srv.Close()
	put := func(path, tok string) { mu.Lock(); lists[path] = tok; mu.Unlock() }

	conf := p.writeConf(t, "svc-statuslist", svcConf{})
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\n[statusList]\nenabled = true\nallowedHosts = [\"127.0.0.1\"]\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		bits     int
		statuses []int
	}{
		{1, []int{0, 1, 0, 1, 1, 0, 0, 0, 1}},
		{2, []int{0, 1, 2, 3, 0, 2}},
		{8, []int{0, 1, 2, 3, 200, 255, 0}},
	}
	for _, c := range cases {
		path := "/statuslists/" + strconv.Itoa(c.bits)
		put(path, svcNodeList(t, p, srv.URL+path, c.bits, c.statuses, 0))
	}
	gw := p.startGateway(t, "statuslist", conf)
	for _, c := range cases {
		uri := srv.URL + "/statuslists/" + strconv.Itoa(c.bits)
		for idx, st := range c.statuses {
			a := gw.call(svcStatusToken(t, p, uri, idx))
			if (st == 0 && !a.accepted()) || (st != 0 && !a.revoked()) {
				t.Errorf("%d-bit list, entry %d (status %d): %s", c.bits, idx, st, a)
			}
		}
	}

	// The flip: a list with a ttl of 2 s, entry 3 VALID, then INVALID in the list served next.
	path := "/statuslists/flip"
	uri := srv.URL + path
	put(path, svcNodeList(t, p, uri, 1, []int{1, 0, 0, 0}, 2))
	tok := svcStatusToken(t, p, uri, 3)
	gw.expectAccepted(t, "entry 3 of the flip list, VALID", tok)
	put(path, svcNodeList(t, p, uri, 1, []int{1, 0, 0, 1}, 2))
	flipped := time.Now()
	svcPoll(t, "entry 3 flipped to INVALID refused", svcPollDeadline, func() (bool, string) {
		a := gw.call(tok)
		return a.revoked(), a.String()
	})
	t.Logf("entry flipped in a new list (ttl 2 s) refused %v after the list changed", time.Since(flipped).Round(time.Millisecond))
}

//go:build sweep

// The sweep of public definitions (docs/build.md, "Public definitions"):
// every OpenAPI definition under the folders of MICROGW_SWEEP_DIRS (a list
// separated by colons) is loaded as the build loads it; each one without an
// absolute server URL is then made into a project with the real micro-gw
// (init, build) and its gateway started with the endpoint given at deploy
// time. The definitions are not part of the repository (docs/build.md says
// where they come from); run it by hand:
//
//	MICROGW_SWEEP_DIRS=/tmp/sweep/oai:/tmp/sweep/apisguru \
//	  go test -tags sweep -run TestSweepPublicDefinitions -timeout 6h -v ./e2e/
//
// MICROGW_SWEEP_REPORT names a file for the table of every definition.
package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// sweepResult is what became of one file.
type sweepResult struct {
	file    string
	outcome string // one of the sweepOutcomes
	detail  string
}

const (
	sweepEndpoint   = "has an absolute server URL: loads"
	sweepNotADef    = "not a definition (a part, or not OpenAPI 2.0/3.x)"
	sweepRefused    = "refused by the build"
	sweepNoEndpoint = "no absolute server URL: init, build and start with the endpoint given"
	sweepFailed     = "no absolute server URL: FAILED"
)

func TestSweepPublicDefinitions(t *testing.T) {
	dirs := os.Getenv("MICROGW_SWEEP_DIRS")
	if dirs == "" {
		t.Skip("MICROGW_SWEEP_DIRS is not set")
	}
	var files []string
	for _, dir := range strings.Split(dirs, ":") {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".json", ".yaml", ".yml":
				if !d.IsDir() {
					files = append(files, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	work := t.TempDir()
	env := toolkitBuildEnv(t)
	var results []sweepResult
	for i, file := range files {
		r := sweepOne(t, work, env, i, file)
		results = append(results, r)
		if r.outcome == sweepFailed {
			t.Errorf("%s: %s", file, r.detail)
		}
	}

	counts := map[string]int{}
	var report strings.Builder
	for _, r := range results {
		counts[r.outcome]++
		fmt.Fprintf(&report, "%s\t%s\t%s\n", r.outcome, r.file, r.detail)
	}
	t.Logf("%d files", len(files))
	for _, o := range []string{sweepEndpoint, sweepNoEndpoint, sweepFailed, sweepRefused, sweepNotADef} {
		t.Logf("%5d  %s", counts[o], o)
	}
	if out := os.Getenv("MICROGW_SWEEP_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// sweepOne loads file, and for a definition without an endpoint makes,
// builds and starts its project.
func sweepOne(t *testing.T, work string, env []string, i int, file string) sweepResult {
	r := sweepResult{file: file}
	loaded, err := codegen.LoadAll(t.Context(), []string{file})
	if err != nil {
		r.detail = firstLine(err.Error())
		r.outcome = sweepRefused
		if strings.Contains(err.Error(), "not an OpenAPI definition") || strings.Contains(err.Error(), "is not supported: use 2.0 or 3.x") {
			r.outcome = sweepNotADef
		}
		return r
	}
	// No endpoint of its own for the API: no absolute server URL (public
	// definitions have no x-wso2-production-endpoints).
	api := loaded[0].API
	if api.Production != nil {
		r.outcome = sweepEndpoint
		return r
	}
	r.outcome, r.detail = sweepFailed, ""
	name := "p" + strconv.Itoa(i)
	// A definition's parts are copied by init from the definition's folder.
	def, err := filepath.Abs(file)
	if err != nil {
		r.detail = err.Error()
		return r
	}
	if out, code := toolkitRun(t, work, env, "micro-gw", "init", name, "-a", def); code != 0 {
		r.detail = "init: " + lastLines(out, 3)
		return r
	}
	if out, code := toolkitRun(t, work, env, "micro-gw", "build", name, "--offline"); code != 0 {
		r.detail = "build: " + lastLines(out, 3)
		return r
	}
	defer os.RemoveAll(filepath.Join(work, name))
	if err := sweepStart(t, work, filepath.Join(work, name, "target", name), api.BasePath); err != nil {
		r.detail = "start: " + err.Error()
		return r
	}
	r.outcome, r.detail = sweepNoEndpoint, fmt.Sprintf("%q %s, %d resources", api.Title, api.BasePath, len(api.Resources))
	return r
}

// sweepStart runs exe with its endpoint given by -e until it is ready,
// then stops it (SIGTERM, exit 0).
func sweepStart(t *testing.T, work, exe, basePath string) error {
	ports := freePorts(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(toolkitBin, "gateway"),
		"-e", "listenerConfig.host=127.0.0.1",
		"-e", "listenerConfig.httpPort="+strconv.Itoa(ports[0]),
		"-e", "listenerConfig.httpsPort="+strconv.Itoa(ports[1]),
		"-e", "listenerConfig.adminPort="+strconv.Itoa(ports[2]),
		"-e", config.APIEndpointsKey(basePath, "production")+"=http://127.0.0.1:9/backend", exe)
	cmd.Dir = work
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready := fmt.Sprintf("http://127.0.0.1:%d/health/ready", ports[2])
	for {
		select {
		case err := <-done:
			return fmt.Errorf("exited (%v): %s", err, lastLines(out.String(), 3))
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-done; err != nil {
		return fmt.Errorf("SIGTERM: %v", err)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

//go:build chaos || e2e_services

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runTimed runs a command in dir with a timeout and returns its combined output.
func runTimed(dir string, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%v (timed out after %v)", err, timeout)
	}
	return string(out), err
}

// onceOrFail returns a getter of f's result, computed the first time it is asked for and given
// again after that; the getter fails the test asking when f failed.
func onceOrFail[T any](f func() (T, error)) func(*testing.T) T {
	get := sync.OnceValues(f)
	return func(t *testing.T) T {
		t.Helper()
		v, err := get()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// moduleRoot is the folder of the repository's go.mod.
var moduleRoot = onceOrFail(func() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the micro-gw module")
	}
	return filepath.Dir(gomod), nil
})

// pidDir returns a getter of a suite's folder of this process, $TMPDIR/PREFIX-PID, made on first
// use. The package's TestMain is the toolkit suite's and does not remove it at the end, so the
// first use removes the folders of earlier runs whose process is gone instead.
func pidDir(prefix string) func(*testing.T) string {
	return onceOrFail(func() (string, error) {
		old, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-*"))
		for _, o := range old {
			pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(o), prefix+"-"))
			if err != nil || pid == os.Getpid() {
				continue
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
				os.RemoveAll(o)
			}
		}
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("%s-%d", prefix, os.Getpid()))
		return dir, os.MkdirAll(dir, 0o755)
	})
}

// toolBinaries are a suite's cmd/micro-gw and cmd/gateway, built once per process as
// PREFIX-micro-gw and PREFIX-gateway.
type toolBinaries struct {
	prefix           string
	once             sync.Once
	microgw, gateway string
	err              error
}

// build builds the binaries into dir the first time, and returns their paths.
func (b *toolBinaries) build(t *testing.T, dir string) (microgw, gateway string) {
	t.Helper()
	root := moduleRoot(t)
	b.once.Do(func() {
		for _, c := range []string{"micro-gw", "gateway"} {
			start := time.Now()
			// Built as micro-gw builds gateways (and as the toolkit suite builds its binaries),
			// so that all of them share one set of entries in the Go build cache.
			out, err := runTimed(root, 10*time.Minute, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
				"-o", filepath.Join(dir, b.prefix+"-"+c), "./cmd/"+c)
			if err != nil {
				b.err = fmt.Errorf("go build ./cmd/%s: %v\n%s", c, err, out)
				return
			}
			t.Logf("built ./cmd/%s in %v", c, time.Since(start).Round(time.Millisecond))
		}
		b.microgw = filepath.Join(dir, b.prefix+"-micro-gw")
		b.gateway = filepath.Join(dir, b.prefix+"-gateway")
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.microgw, b.gateway
}

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestToolkitImageReproducible builds the same project twice, in two
// folders (two checkouts of one repository), with --image: the real go
// build, the real image. The digests must be the same (docs/deploy.md).
func TestToolkitImageReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a gateway twice")
	}
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_CACHE_HOME=" + t.TempDir(), "GOCACHE=" + strings.TrimSpace(string(gocache))}
	first := t.TempDir()
	if out, code := toolkitRun(t, first, env, "micro-gw", "init", "proj", "-a", filepath.Join(moduleDir(t), "samples", "petstore_basic.yaml")); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	second := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join(first, "proj"), second).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	digestLine := regexp.MustCompile(`image digest (sha256:[0-9a-f]{64}), id (sha256:[0-9a-f]{64})`)
	var digests []string
	for _, wd := range []string{first, second} {
		out, code := toolkitRun(t, wd, env, "micro-gw", "build", "proj", "--image", "example.org/proj:1.0", "--kubernetes")
		if code != 0 {
			t.Fatalf("build in %s: exit %d\n%s", wd, code, out)
		}
		m := digestLine.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no digest printed:\n%s", out)
		}
		digests = append(digests, m[1]+" "+m[2])
		for _, f := range []string{"target/proj.image.tar", "target/kubernetes/kustomization.yaml"} {
			if _, err := os.Stat(filepath.Join(wd, "proj", f)); err != nil {
				t.Error(err)
			}
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds of the same project gave two images:\n%s\n%s", digests[0], digests[1])
	}
	t.Logf("both builds: %s", digests[0])
}

// moduleDir is the repository's root: the parent of e2e/.
func moduleDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

//go:build e2e_services

package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// svcPodman runs podman as these machines need it (docs/testing.md): runc rather than crun,
// cgroupfs rather than systemd. A machine without podman fails the test: .ci/run installs it
// (apt-get install podman runc).
func svcPodman(t *testing.T) func(args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("podman")
	if err != nil {
		t.Fatal("podman is not installed: apt-get install podman runc (.ci/run does)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("runc is not installed: apt-get install podman runc (.ci/run does)")
	}
	return func(args ...string) (string, error) {
		return runTimed("", 3*time.Minute, nil, bin, append([]string{"--runtime", "runc", "--cgroup-manager", "cgroupfs"}, args...)...)
	}
}

// TestServicesContainer runs the image `micro-gw build --image` writes in a real container
// runtime (podman with runc): loaded from the archive, run as its non-root user with the conf
// mounted, the listener ports overridden by MGW_ variables, ready, a token served through the container, revoked
// over RabbitMQ's STOMP, and SIGTERM draining a request in flight before the container exits 0.
func TestServicesContainer(t *testing.T) {
	s := svcEnv(t)
	podman := svcPodman(t)
	microgw, _ := svcBinaries(t)

	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseSlow := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseSlow)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			arrived <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"backend":"ctr","path":%q}`, r.URL.Path)
	}))
	defer backend.Close()

	p := &svcProject{Work: filepath.Join(svcWorkspace(t), "container"), Name: "ctrpets", Backend: backend}
	p.Root = filepath.Join(p.Work, p.Name)
	p.Exe = filepath.Join(p.Root, "target", p.Name)
	if err := os.MkdirAll(p.Work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Work, "ctr_api.yaml"), fmt.Appendf(nil, svcAPIDefinition, backend.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runTimed(p.Work, time.Minute, nil, microgw, "init", p.Name, "--force", "-a", "ctr_api.yaml"); err != nil {
		t.Fatalf("micro-gw init: %v\n%s", err, out)
	}
	ref := fmt.Sprintf("localhost/micro-gw-e2e/ctrpets:%d", os.Getpid())
	if out, err := runTimed(p.Work, 10*time.Minute, nil, microgw, "build", p.Name, "--image", ref); err != nil {
		t.Fatalf("micro-gw build --image: %v\n%s", err, out)
	}

	out, err := podman("load", "-i", filepath.Join(p.Root, "target", p.Name+".image.tar"))
	if err != nil || !strings.Contains(out, ref) {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	t.Cleanup(func() { podman("rmi", "-f", ref) })

	conf := p.writeConf(t, "container", svcConf{BrokerURL: "stomp://" + s.STOMP, BrokerUser: "guest", BrokerPass: "guest"})
	ports := freePorts(t, 3)
	name := fmt.Sprintf("micro-gw-e2e-%d", os.Getpid())
	podman("rm", "-f", name)
	args := []string{"run", "-d", "--name", name, "--network", "host",
		"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"-v", conf + ":/gateway/conf/micro-gw.conf:ro"}
	args = append(args, svcContainerPorts(ports)...)
	args = append(args, ref)
	if out, err := podman(args...); err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := podman("logs", name)
			t.Logf("----- container %s\n%s", name, svcTail(logs, 150))
		}
		podman("rm", "-f", name)
	})
	if user, _ := podman("inspect", "--format", "{{.Config.User}}", name); strings.TrimSpace(user) != "65532:65532" {
		t.Errorf("the container runs as %q", user)
	}
	if out, err := podman("exec", name, "/bin/sh", "-c", "true"); err == nil {
		t.Errorf("the image has a shell: %s", out)
	}

	gw := &svcGateway{t: t, Name: name, HTTP: ports[0], HTTPS: ports[1], Admin: ports[2],
		client: &http.Client{Timeout: 10 * time.Second}, done: make(chan struct{})}
	svcPoll(t, "the container ready", 60*time.Second, func() (bool, string) {
		code, err := gw.ready()
		return err == nil && code == http.StatusOK, fmt.Sprint(code, err)
	})
	url := func(path string) string { return fmt.Sprintf("http://127.0.0.1:%d/svc/v1%s", ports[0], path) }

	jti := svcJTI("container")
	token := p.issueToken(t, jti)
	if a := askGateway(gw.client, url("/pets"), token); !a.accepted() {
		t.Fatalf("a token through the container: %s", a)
	}
	since := time.Now()
	svcPublishSTOMP(t, s.STOMP, "tokenRevocation", svcFlat(jti))
	svcPoll(t, "the revoked token refused by the container", svcPollDeadline, func() (bool, string) {
		a := askGateway(gw.client, url("/pets"), token)
		return a.revoked(), a.String()
	})
	t.Logf("revocation over the broker took effect in the container after %v", time.Since(since).Round(time.Millisecond))

	// SIGTERM while a request is at the backend: it completes, then the container exits 0.
	slow := make(chan gatewayAnswer, 1)
	other := p.issueToken(t, svcJTI("drain"))
	go func() { slow <- askGateway(gw.client, url("/slow"), other) }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow request never reached the backend")
	}
	if out, err := podman("kill", "--signal", "TERM", name); err != nil {
		t.Fatalf("podman kill --signal TERM: %v\n%s", err, out)
	}
	time.Sleep(500 * time.Millisecond) // the gateway is draining now
	releaseSlow()
	if a := <-slow; !a.accepted() {
		t.Errorf("the request in flight at SIGTERM: %s, want it served", a)
	}
	code, err := podman("wait", name)
	if err != nil || strings.TrimSpace(code) != "0" {
		t.Errorf("the container exited %q (%v), want 0", code, err)
	}
	logs, _ := podman("logs", name)
	if !strings.Contains(logs, "draining in-flight requests") || strings.Contains(logs, token) {
		t.Errorf("container logs:\n%s", svcTail(logs, 40))
	}
}

// svcContainerPorts puts the gateway's listeners on the given ports (HTTP, HTTPS, admin): the
// container shares the host's network, and 9090 may be taken. They are MGW_ variables of the
// container (docs/deploy.md), over the mounted conf's 9090, 9095 and 9096.
func svcContainerPorts(ports []int) []string {
	return []string{
		"-e", fmt.Sprintf("MGW_LISTENERCONFIG_HTTPPORT=%d", ports[0]),
		"-e", fmt.Sprintf("MGW_LISTENERCONFIG_HTTPSPORT=%d", ports[1]),
		"-e", fmt.Sprintf("MGW_LISTENERCONFIG_ADMINPORT=%d", ports[2]),
	}
}

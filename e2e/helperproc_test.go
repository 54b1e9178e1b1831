package e2e

import (
	"encoding/json"
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// startHelper starts cmd, a helper process of a suite (a proxy to compare with, an identity
// provider) that prints one JSON value on its standard output once it is ready and exits when its
// standard input closes, so that it cannot outlive the test however the test ends. It decodes
// that value into hello and returns the process's standard error; at the end of the test the
// process's stdin is closed and it is waited for (killed after 10 s).
func startHelper(t *testing.T, cmd *exec.Cmd, hello any) *syncbuf.Buffer {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Logf("%s did not exit within 10 s of its stdin closing; killing it", cmd.Path)
			cmd.Process.Kill()
			<-done
		}
	})
	decoded := make(chan error, 1)
	go func() { decoded <- json.NewDecoder(stdout).Decode(hello) }()
	select {
	case err = <-decoded:
	case <-time.After(time.Minute):
		err = errors.New("said nothing within a minute")
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd.Path, err, stderr.String())
	}
	return stderr
}

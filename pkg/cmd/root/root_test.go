package root

import (
	"bytes"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

// testFactory returns a factory with buffers, working in wd.
func testFactory(wd string) (*factory.Factory, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &factory.Factory{
		In: strings.NewReader(""), Out: out, ErrOut: errOut,
		Getwd:   func() (string, error) { return wd, nil },
		Getenv:  func(string) string { return "" },
		Version: "v9.9.9-test",
	}, out, errOut
}

func TestVersion(t *testing.T) {
	f, out, errOut := testFactory(t.TempDir())
	if code := Run(f, []string{"version"}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out.String(), "micro-gw version v9.9.9-test (go") {
		t.Errorf("version printed %q", out)
	}
	f, flagOut, errOut := testFactory(t.TempDir())
	if code := Run(f, []string{"--version"}); code != ExitOK || flagOut.String() != out.String() {
		t.Errorf("--version: exit %d, printed %q (stderr %q), want %q", code, flagOut, errOut, out)
	}
}

// TestCompletion: the toolkit offers cobra's completion scripts, and lists
// the command.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		f, out, errOut := testFactory(t.TempDir())
		if code := Run(f, []string{"completion", shell}); code != ExitOK || !strings.Contains(out.String(), "micro-gw") {
			t.Errorf("completion %s: exit %d, %d bytes (stderr %q)", shell, code, out.Len(), errOut)
		}
	}
	f, out, _ := testFactory(t.TempDir())
	if Run(f, []string{"--help"}); !strings.Contains(out.String(), "\n  completion ") {
		t.Errorf("--help does not list completion:\n%s", out)
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{}, ExitOK, ""},
		{[]string{"--help"}, ExitOK, ""},
		{[]string{"bogus"}, ExitUsage, "unknown command \"bogus\" for \"micro-gw\"\nRun 'micro-gw --help' for usage.\n"},
		{[]string{"--bogus"}, ExitUsage, "unknown flag: --bogus\nRun 'micro-gw --help' for usage.\n"},
		{[]string{"version", "extra"}, ExitUsage, "unknown command \"extra\" for \"micro-gw version\"\nRun 'micro-gw version --help' for usage.\n"},
		{[]string{"build"}, ExitUsage, "accepts 1 arg(s), received 0\nRun 'micro-gw build --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, errOut := testFactory(t.TempDir())
			if code := Run(f, tt.args); code != tt.wantCode {
				t.Errorf("exit %d, want %d (%s)", code, tt.wantCode, errOut)
			}
			if errOut.String() != tt.wantErr {
				t.Errorf("stderr %q, want %q", errOut, tt.wantErr)
			}
		})
	}
}

package launcher

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/cmd/root/execute"
)

// makeProject writes NAME/target/NAME (mode exe) and, when conf, NAME/conf/micro-gw.conf.
func makeProject(t *testing.T, wd string, mode os.FileMode, conf bool) {
	t.Helper()
	for _, d := range []string{"pets/target", "pets/conf"} {
		if err := os.MkdirAll(filepath.Join(wd, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(wd, "pets/target/pets"), []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if conf {
		if err := os.WriteFile(filepath.Join(wd, "pets/conf/micro-gw.conf"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type execCall struct {
	argv0 string
	argv  []string
}

func run(t *testing.T, wd string, args ...string) (int, *execCall, string) {
	t.Helper()
	var errOut bytes.Buffer
	f := &factory.Factory{Out: &bytes.Buffer{}, ErrOut: &errOut, In: strings.NewReader(""),
		Getwd: func() (string, error) { return wd, nil }}
	var call *execCall
	cmd := NewCmdGateway(f, func(o *Options) error {
		o.Environ = func() []string { return []string{"A=1"} }
		o.Exec = func(argv0 string, argv, envv []string) error {
			if !reflect.DeepEqual(envv, []string{"A=1"}) {
				t.Errorf("environment %v not passed on", envv)
			}
			call = &execCall{argv0, argv}
			return nil
		}
		return gatewayRun(o)
	})
	code := execute.Execute(f, cmd, args)
	return code, call, errOut.String()
}

func TestGatewayExecs(t *testing.T) {
	wd := t.TempDir()
	makeProject(t, wd, 0o755, true)
	exe := filepath.Join(wd, "pets/target/pets")

	code, call, errOut := run(t, wd, "pets/target/pets", "-e", "listenerConfig.httpPort=9190", "-e", "b7a.log.level=TRACE")
	if code != 0 || call == nil {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := []string{exe, "--config", filepath.Join(wd, "pets/conf/micro-gw.conf"), "-e", "listenerConfig.httpPort=9190", "-e", "b7a.log.level=TRACE"}
	if call.argv0 != exe || !reflect.DeepEqual(call.argv, want) {
		t.Errorf("exec %s %v, want %v", call.argv0, call.argv, want)
	}

	other := filepath.Join(wd, "other.conf")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, call, errOut = run(t, wd, "--config", "other.conf", exe)
	if code != 0 || call == nil || !reflect.DeepEqual(call.argv, []string{exe, "--config", other}) {
		t.Errorf("--config: exit %d, call %+v, %s", code, call, errOut)
	}

	code, call, errOut = run(t, wd, "--print-config", "--config", "other.conf", "-e", "log.level=DEBUG", exe)
	if code != 0 || call == nil || !reflect.DeepEqual(call.argv, []string{exe, "--config", other, "-e", "log.level=DEBUG", "--print-config"}) {
		t.Errorf("--print-config: exit %d, call %+v, %s", code, call, errOut)
	}
}

func TestGatewayRefuses(t *testing.T) {
	tests := []struct {
		name     string
		mode     os.FileMode
		conf     bool
		args     []string
		wantCode int
		want     string
	}{
		{"missing executable", 0o755, true, []string{"pets/target/nope"}, 1, "Path to executable pets/target/nope is invalid: no such file."},
		{"a folder", 0o755, true, []string{"pets/target"}, 1, "Path to executable pets/target is invalid: it is a folder"},
		{"not executable", 0o644, true, []string{"pets/target/pets"}, 1, "Path to executable pets/target/pets is invalid: not executable."},
		{"no conf", 0o755, false, []string{"pets/target/pets"}, 1, "micro-gw.conf does not exist; give one with --config"},
		{"missing --config", 0o755, true, []string{"--config", "nope.conf", "pets/target/pets"}, 1, "nope.conf does not exist\n"},
		{"no executable given", 0o755, true, []string{}, 2, "accepts 1 arg(s), received 0"},
		{"bad -e", 0o755, true, []string{"-e"}, 2, "flag needs an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wd := t.TempDir()
			makeProject(t, wd, tt.mode, tt.conf)
			code, call, errOut := run(t, wd, tt.args...)
			if code != tt.wantCode || call != nil || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, exec %v, stderr %q; want %d and %q", code, call, errOut, tt.wantCode, tt.want)
			}
		})
	}
}

func TestExecFailure(t *testing.T) {
	wd := t.TempDir()
	makeProject(t, wd, 0o755, true)
	opts := &Options{
		Getwd: func() (string, error) { return wd, nil }, Environ: os.Environ, Executable: "pets/target/pets",
		Exec: func(string, []string, []string) error { return errors.New("exec format error") },
	}
	if err := gatewayRun(opts); err == nil || !strings.Contains(err.Error(), "exec format error") {
		t.Errorf("got %v", err)
	}
}

// TestGatewayCompletion: `gateway completion bash` prints cobra's script,
// without taking "completion" for an executable.
func TestGatewayCompletion(t *testing.T) {
	var out, errOut bytes.Buffer
	f := &factory.Factory{Out: &out, ErrOut: &errOut, In: strings.NewReader(""),
		Getwd: func() (string, error) { return t.TempDir(), nil }}
	cmd := NewCmdGateway(f, func(*Options) error {
		t.Error("completion ran the gateway")
		return nil
	})
	if code := execute.Execute(f, cmd, []string{"completion", "bash"}); code != 0 || !strings.Contains(out.String(), "bash completion V2 for gateway") {
		t.Errorf("exit %d, %d bytes, stderr %q", code, out.Len(), errOut.String())
	}
}

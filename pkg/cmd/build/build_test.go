package build

import (
	"reflect"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

func TestNewCmdBuildFlags(t *testing.T) {
	tests := []struct {
		args []string
		want BuildOptions
	}{
		{[]string{"pets"}, BuildOptions{Project: "pets", Timeout: defaultTimeout}},
		{[]string{"dir/pets", "--offline", "--goos", "linux", "--goarch", "arm64", "--keep-source", "-v", "--timeout", "2m"},
			BuildOptions{Project: "dir/pets", Offline: true, GOOS: "linux", GOARCH: "arm64", KeepSource: true, Verbose: true, Timeout: 2 * time.Minute}},
	}
	for _, tt := range tests {
		var got *BuildOptions
		cmd := NewCmdBuild(&factory.Factory{Version: "v1"}, func(o *BuildOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got.Version != "v1" || got.Source == nil || got.LookPath == nil || got.CacheDir == nil || got.Environ == nil {
			t.Errorf("%v: dependencies not set: %+v", tt.args, got)
		}
		got.Out, got.ErrOut, got.Getwd, got.Environ, got.LookPath, got.CacheDir, got.Source, got.Version = nil, nil, nil, nil, nil, nil, nil, ""
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestGenDir(t *testing.T) {
	if got := display("/w", "/w/pets/api_definitions/a.yaml"); got != "pets/api_definitions/a.yaml" {
		t.Errorf("display below wd: %s", got)
	}
	if got := display("/w", "/elsewhere/a.yaml"); got != "/elsewhere/a.yaml" {
		t.Errorf("display outside wd: %s", got)
	}
}

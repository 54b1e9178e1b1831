package initcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/project"
)

func TestNewCmdInitFlags(t *testing.T) {
	tests := []struct {
		args []string
		want InitOptions
	}{
		{[]string{"pets"}, InitOptions{Name: "pets"}},
		{[]string{"-f", "dir/pets"}, InitOptions{Name: "dir/pets", Force: true}},
		{[]string{"pets", "--force", "-a", "a.yaml", "--api-definition", "b.json"},
			InitOptions{Name: "pets", Force: true, Definitions: []string{"a.yaml", "b.json"}}},
	}
	for _, tt := range tests {
		var got *InitOptions
		cmd := NewCmdInit(&factory.Factory{}, func(o *InitOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		got.Out, got.Getwd = nil, nil
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestInitRun(t *testing.T) {
	wd := t.TempDir()
	var out bytes.Buffer
	opts := &InitOptions{
		Out:         &out,
		Getwd:       func() (string, error) { return wd, nil },
		Name:        "work/petstore",
		Definitions: []string{"../../../samples/petstore_basic.yaml"},
	}
	// The sample is named relative to wd; put wd where that path works.
	sample, err := filepath.Abs("../../../samples/petstore_basic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts.Definitions = []string{sample}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "Project 'work/petstore' is initialized successfully.\nNext: micro-gw build work/petstore\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	p := project.New(wd, "work/petstore")
	if _, err := os.Stat(filepath.Join(p.Path(project.DefinitionsDir), "petstore_basic.yaml")); err != nil {
		t.Error(err)
	}
	if _, err := project.LoadIssuerKey(p.Root); err != nil {
		t.Error(err)
	}
}

// Without a definition the next step is to add one.
func TestInitRunWithoutDefinitions(t *testing.T) {
	wd := t.TempDir()
	var out bytes.Buffer
	opts := &InitOptions{Out: &out, Getwd: func() (string, error) { return wd, nil }, Name: "empty"}
	if err := initRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "Project 'empty' is initialized successfully.\n" +
		"Next: add API definitions to " + filepath.Join("empty", "api_definitions") + " and run 'micro-gw build empty'\n"
	if out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
}

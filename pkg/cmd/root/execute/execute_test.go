package execute

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
)

func testFactory() (*factory.Factory, *bytes.Buffer) {
	errOut := &bytes.Buffer{}
	return &factory.Factory{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: errOut}, errOut
}

// TestExecuteErrors checks that an error is printed once and an ExitError's
// code is honoured, for commands that others add.
func TestExecuteErrors(t *testing.T) {
	tests := []struct {
		err      error
		wantCode int
		wantErr  string
	}{
		{errors.New("boom"), ExitFailure, "boom\n"},
		{&factory.ExitError{Code: 3, Err: errors.New("told")}, 3, "told\n"},
		{&factory.ExitError{Code: 4}, 4, ""},
	}
	for _, tt := range tests {
		f, errOut := testFactory()
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return tt.err }}
		if code := Execute(f, cmd, []string{}); code != tt.wantCode || errOut.String() != tt.wantErr {
			t.Errorf("%v: exit %d stderr %q; want %d %q", tt.err, code, errOut, tt.wantCode, tt.wantErr)
		}
	}
}

func TestUsageErrorsOfSubcommands(t *testing.T) {
	f, errOut := testFactory()
	top := &cobra.Command{Use: "top"}
	sub := &cobra.Command{Use: "sub", Args: cobra.ExactArgs(1), RunE: func(*cobra.Command, []string) error { return nil }}
	sub.Flags().Int("n", 0, "")
	top.AddCommand(sub)
	for _, args := range [][]string{{"sub"}, {"sub", "x", "--n", "notanumber"}} {
		errOut.Reset()
		if code := Execute(f, top, args); code != ExitUsage || !strings.Contains(errOut.String(), "Run 'top sub --help' for usage.") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

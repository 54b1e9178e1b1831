package hashpassword

import (
	"bytes"
	"strings"
	"testing"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/passwordhash"
)

func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCmdHashPassword(&factory.Factory{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&errOut)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), err
}

// TestHashPassword: the printed hash is one line that the gateway reads
// (passwordhash.Parse, as config.Load does) and that verifies the password
// of the first line of stdin, and no other.
func TestHashPassword(t *testing.T) {
	for _, tc := range []struct {
		args []string
		kind passwordhash.Kind
	}{
		{nil, passwordhash.Bcrypt},
		{[]string{"--cost", "4"}, passwordhash.Bcrypt},
		{[]string{"--algorithm", "argon2id", "--argon2-memory", "64", "--argon2-time", "1"}, passwordhash.Argon2id},
	} {
		out, err := run(t, "s3cret pw\r\nnext line\n", tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if strings.Count(out, "\n") != 1 {
			t.Fatalf("%v: not one line: %q", tc.args, out)
		}
		h, err := passwordhash.Parse(strings.TrimSpace(out))
		if err != nil || h.Kind() != tc.kind {
			t.Fatalf("%v: %v %v", tc.args, h, err)
		}
		if !h.Verify([]byte("s3cret pw")) || h.Verify([]byte("s3cret pw\r")) || h.Verify([]byte("next line")) {
			t.Errorf("%v: the hash does not verify exactly the first line", tc.args)
		}
	}
	if _, err := run(t, "--cost 10\n", "--algorithm", "argon2id", "--argon2-memory", "64", "--argon2-time", "1"); err != nil {
		t.Errorf("a password that looks like a flag: %v", err)
	}
	for _, bad := range []struct {
		stdin string
		args  []string
	}{
		{"", nil},
		{"\n", nil},
		{strings.Repeat("p", passwordhash.MaxPasswordLength+1), []string{"--algorithm", "argon2id"}},
		{"pw", []string{"--cost", "15"}},
		{"pw", []string{"--algorithm", "md5"}},
		{"pw", []string{"--algorithm", "argon2id", "--argon2-memory", "1048576"}},
		{"pw", []string{"--algorithm", "argon2id", "--argon2-threads", "0"}},
		{"pw", []string{"extra"}},
	} {
		if out, err := run(t, bad.stdin, bad.args...); err == nil {
			t.Errorf("%q %v: accepted, printed %q", bad.stdin, bad.args, out)
		}
	}
}

// TestHashPasswordTerminal: from a terminal the password is asked twice,
// and two that differ are refused.
func TestHashPasswordTerminal(t *testing.T) {
	answers := []string{"pw", "pw", "pw", "other"}
	opts := &HashOptions{Out: &bytes.Buffer{}, Algorithm: AlgBcrypt, Cost: 4, Terminal: func(string) ([]byte, error) {
		a := answers[0]
		answers = answers[1:]
		return []byte(a), nil
	}}
	if err := hashRun(opts); err != nil {
		t.Fatal(err)
	}
	if err := hashRun(opts); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("two different passwords: %v", err)
	}
}

// Package hashpassword is `micro-gw hash-password`: print the hash of a
// basic-auth user's password for [b7a.users.NAME] password.
package hashpassword

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/passwordhash"
)

// Algorithms of --algorithm.
const (
	AlgBcrypt   = "bcrypt"
	AlgArgon2id = "argon2id"
)

// HashOptions are the inputs of `micro-gw hash-password`.
type HashOptions struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// Terminal, when set, reads a password from a terminal without echo
	// (stdin is one); nil reads the first line of In.
	Terminal func(prompt string) ([]byte, error)

	Algorithm string // --algorithm
	Cost      int    // --cost (bcrypt)
	Argon2    passwordhash.Argon2Params
}

// NewCmdHashPassword returns `micro-gw hash-password`; runF, when not nil,
// replaces hashRun (tests of flag parsing).
func NewCmdHashPassword(f *factory.Factory, runF func(*HashOptions) error) *cobra.Command {
	opts := &HashOptions{In: f.In, Out: f.Out, ErrOut: f.ErrOut, Argon2: passwordhash.DefaultArgon2Params}
	if file, ok := f.In.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
		opts.Terminal = func(prompt string) ([]byte, error) {
			fmt.Fprint(opts.ErrOut, prompt)
			defer fmt.Fprintln(opts.ErrOut)
			return term.ReadPassword(int(file.Fd()))
		}
	}
	var threads uint
	cmd := &cobra.Command{
		Use:   "hash-password",
		Short: "Print the hash of a basic-auth user's password, for [b7a.users.NAME] password",
		Long: "Read a password (from the terminal, asked twice without echo, or the first line of stdin)\n" +
			"and print its hash, which goes into micro-gw.conf as the password of a basic-auth user:\n\n" +
			"  [b7a.users.alice]\n  password = \"$2a$10$...\"\n  scopes = [\"read\"]\n\n" +
			"bcrypt by default (cost 10), or argon2id (--algorithm argon2id: 19 MiB, two passes, one\n" +
			"thread, OWASP's first choice). The gateway bounds what a check may cost (bcrypt cost 14,\n" +
			"argon2id 64 MiB) and how many run at once: see docs/authentication.md.",
		Example: "  micro-gw hash-password\n" +
			"  printf '%s\\n' \"$PASSWORD\" | micro-gw hash-password --algorithm argon2id",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch opts.Algorithm {
			case AlgBcrypt:
				if opts.Cost < passwordhash.MinBcryptCost || opts.Cost > passwordhash.MaxBcryptCost {
					return fmt.Errorf("--cost must be %d to %d, got %d", passwordhash.MinBcryptCost, passwordhash.MaxBcryptCost, opts.Cost)
				}
			case AlgArgon2id:
				if threads == 0 || threads > passwordhash.MaxArgon2Threads {
					return fmt.Errorf("--argon2-threads must be 1 to %d, got %d", passwordhash.MaxArgon2Threads, threads)
				}
				opts.Argon2.Threads = uint8(threads)
			default:
				return fmt.Errorf("--algorithm must be %s or %s, got %q", AlgBcrypt, AlgArgon2id, opts.Algorithm)
			}
			if runF != nil {
				return runF(opts)
			}
			return hashRun(opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Algorithm, "algorithm", AlgBcrypt, "bcrypt or argon2id")
	fl.IntVar(&opts.Cost, "cost", passwordhash.DefaultBcryptCost, "bcrypt's cost (4 to 14; each step doubles the work)")
	fl.Uint32Var(&opts.Argon2.Memory, "argon2-memory", passwordhash.DefaultArgon2Memory, "argon2id's memory in KiB (at most 65536)")
	fl.Uint32Var(&opts.Argon2.Time, "argon2-time", passwordhash.DefaultArgon2Time, "argon2id's passes (at most 16)")
	fl.UintVar(&threads, "argon2-threads", uint(passwordhash.DefaultArgon2Thread), "argon2id's parallelism (at most 16)")
	return cmd
}

func hashRun(opts *HashOptions) error {
	password, err := readPassword(opts)
	if err != nil {
		return err
	}
	var hash string
	switch opts.Algorithm {
	case AlgArgon2id:
		hash, err = passwordhash.GenerateArgon2id(password, opts.Argon2)
	default:
		hash, err = passwordhash.GenerateBcrypt(password, opts.Cost)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.Out, hash)
	return err
}

// readPassword reads the password: twice from a terminal, else the first
// line of In (its line end taken off). An empty one is refused.
func readPassword(opts *HashOptions) ([]byte, error) {
	var password []byte
	if opts.Terminal != nil {
		first, err := opts.Terminal("Password: ")
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		again, err := opts.Terminal("Password again: ")
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		if string(first) != string(again) {
			return nil, errors.New("the two passwords differ")
		}
		password = first
	} else {
		line, err := bufio.NewReader(io.LimitReader(opts.In, passwordhash.MaxPasswordLength+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read the password from stdin: %w", err)
		}
		password = []byte(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
	}
	switch {
	case len(password) == 0:
		return nil, errors.New("the password is empty")
	case len(password) > passwordhash.MaxPasswordLength:
		return nil, fmt.Errorf("the password is longer than %d bytes", passwordhash.MaxPasswordLength)
	}
	return password, nil
}

package codegen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinGoMinor is the oldest Go release (1.MinGoMinor) that builds gateways:
// the module's go.mod says go 1.26.0.
const MinGoMinor = 26

// ErrNoGo is wrapped by the error of a machine without a usable Go toolchain.
var ErrNoGo = errors.New("micro-gw build needs the Go toolchain (go 1.26 or later) on PATH")

// GoTool runs the go command: every run is logged, bounded by Timeout, and
// given Env.
type GoTool struct {
	// Path is the go executable.
	Path string
	// Env is the complete environment of the go command.
	Env []string
	// Timeout bounds one run; 0 means no bound.
	Timeout time.Duration
	Log     *slog.Logger
}

// FindGo returns a GoTool for the go command on PATH (lookPath is
// exec.LookPath, or a fake in tests), or an error wrapping ErrNoGo.
func FindGo(lookPath func(string) (string, error)) (*GoTool, error) {
	p, err := lookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoGo, err)
	}
	return &GoTool{Path: p, Log: slog.New(slog.DiscardHandler)}, nil
}

// Run runs go with args in dir and returns its combined output. A failure
// is an error carrying that output; a run cut by Timeout says so.
func (g *GoTool) Run(ctx context.Context, dir string, args ...string) ([]byte, error) {
	if g.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, g.Path, args...)
	cmd.Dir = dir
	cmd.Env = g.Env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	g.Log.Debug("running go", "dir", dir, "cmd", g.Path+" "+strings.Join(args, " "))
	err := cmd.Run()
	g.Log.Debug("go done", "cmd", args[0], "took", time.Since(start).Round(time.Millisecond), "err", err)
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return out.Bytes(), fmt.Errorf("go %s: timed out after %s", args[0], g.Timeout)
	case context.Canceled:
		return out.Bytes(), fmt.Errorf("go %s: interrupted", args[0])
	}
	if err != nil {
		return out.Bytes(), &GoError{Args: args, Output: out.String(), Err: err}
	}
	return out.Bytes(), nil
}

// GoError is a go command that failed.
type GoError struct {
	Args   []string
	Output string
	Err    error
}

func (e *GoError) Error() string {
	return fmt.Sprintf("go %s: %v\n%s", strings.Join(e.Args, " "), e.Err, strings.TrimRight(e.Output, "\n"))
}

func (e *GoError) Unwrap() error { return e.Err }

var goVersion = regexp.MustCompile(`^go1\.(\d+)`)

// CheckVersion asks the go command for its version and refuses one older
// than 1.MinGoMinor with an error wrapping ErrNoGo.
func (g *GoTool) CheckVersion(ctx context.Context, dir string) (string, error) {
	out, err := g.Run(ctx, dir, "env", "GOVERSION")
	if err != nil {
		return "", fmt.Errorf("%w: %s does not run: %w", ErrNoGo, g.Path, err)
	}
	v := strings.TrimSpace(string(out))
	m := goVersion.FindStringSubmatch(v)
	if m == nil {
		// A development toolchain ("devel go1.27-...") is taken as new enough.
		return v, nil
	}
	if minor, _ := strconv.Atoi(m[1]); minor < MinGoMinor {
		return v, fmt.Errorf("%w: %s is %s", ErrNoGo, g.Path, v)
	}
	return v, nil
}

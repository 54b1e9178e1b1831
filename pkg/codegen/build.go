package codegen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// Step is a stage of a build, reported to Builder.Progress as it starts and
// again with its duration when it ends, in the manner of xcaddy.
type Step string

// The steps of a build, in order.
const (
	StepLoad       Step = "Loading API definitions"
	StepGenerate   Step = "Generating source"
	StepCompile    Step = "Compiling source"
	StepExecutable Step = "Generating executable"
)

// Builder builds one gateway executable: definitions -> Spec -> generated
// main package -> go build -> Output. Nothing partial is left at Output: the
// go tool writes to a temporary file next to it, renamed on success.
type Builder struct {
	// Name is the project's name, compiled into the Spec.
	Name string
	// Version is the toolkit's version, compiled into the Spec.
	Version string
	// Definitions are the absolute paths of the definition files, in order.
	Definitions []string
	// Extensions are the absolute paths of the project's extension files.
	Extensions []string
	// Policies is the absolute path of the project's policies.yaml; "" or a
	// file that does not exist defines no throttling policy.
	Policies string
	// Source is the module source micro-gw carries (microgw.Source).
	Source fs.FS
	// CacheDir holds the unpacked source (CacheDir/src/<hash>).
	CacheDir string
	// GenDir is the folder of the generated package.
	GenDir string
	// Output is the executable to write.
	Output string
	// Go runs the go command; its Env is set by Build from Env.
	Go *GoTool
	// Env is the environment the go command starts from (os.Environ()).
	Env []string
	// Offline forbids the go command any network: GOPROXY=off.
	Offline bool
	// GOOS and GOARCH cross-compile when set.
	GOOS, GOARCH string
	// Progress is told of every step; done is false when the step starts
	// and true, with its duration, when it ends successfully.
	Progress func(step Step, done bool, took time.Duration)
	// Display turns an absolute path of a project file into what the user
	// reads in messages; nil leaves it absolute.
	Display func(string) string
	// Loaded is told of every API once the definitions are loaded, with the
	// warnings about its definition.
	Loaded func(api runtime.API, file string, warnings []*DefinitionError)
}

// Build runs every step. Its errors are *DefinitionError,
// *DuplicateBasePathError, *CompileError, or wrap ErrNoGo.
func (b *Builder) Build(ctx context.Context) error {
	var spec runtime.Spec
	err := b.step(StepLoad, func() error {
		loaded, err := LoadAll(ctx, b.Definitions)
		var defErr *DefinitionError
		var dupErr *DuplicateBasePathError
		switch {
		case errors.As(err, &defErr):
			defErr.File = b.display(defErr.File)
		case errors.As(err, &dupErr):
			dupErr.First, dupErr.Other = b.display(dupErr.First), b.display(dupErr.Other)
		}
		if err != nil {
			return err
		}
		spec = runtime.Spec{Name: b.Name, Version: b.Version}
		if b.Policies != "" {
			if spec.Policies, err = LoadPolicies(b.Policies); err != nil {
				if errors.As(err, &defErr) {
					defErr.File = b.display(defErr.File)
				}
				return err
			}
		}
		if err := checkTiers(loaded, spec.Policies); err != nil {
			if errors.As(err, &defErr) {
				defErr.File = b.display(defErr.File)
			}
			return err
		}
		for _, l := range loaded {
			spec.APIs = append(spec.APIs, l.API)
			if b.Loaded != nil {
				for _, w := range l.Warnings {
					w.File = b.display(w.File)
				}
				b.Loaded(l.API, b.display(l.File), l.Warnings)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	err = b.step(StepGenerate, func() error {
		src, err := UnpackSource(b.Source, b.CacheDir)
		if err != nil {
			return err
		}
		pkg := Package{Dir: b.GenDir, Spec: spec, Extensions: b.Extensions}
		toolkitMod, err := fs.ReadFile(b.Source, "go.mod")
		if err != nil {
			return fmt.Errorf("%w: %w", errNoGoMod, err)
		}
		if pkg.GoMod, err = GoMod(toolkitMod, b.Name, src); err != nil {
			return err
		}
		if pkg.GoSum, err = fs.ReadFile(b.Source, "go.sum"); err != nil {
			return fmt.Errorf("read carried go.sum: %w", err)
		}
		return pkg.Write()
	})
	if err != nil {
		return err
	}

	b.Go.Env = b.goEnv()
	var tmp string
	err = b.step(StepCompile, func() error {
		if _, err := b.Go.CheckVersion(ctx, b.GenDir); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(b.Output), 0o755); err != nil {
			return fmt.Errorf("make target folder: %w", err)
		}
		f, err := os.CreateTemp(filepath.Dir(b.Output), "."+filepath.Base(b.Output)+"-*.tmp")
		if err != nil {
			return fmt.Errorf("make temporary executable: %w", err)
		}
		tmp = f.Name()
		f.Close()
		// -buildvcs=false: the generated package may sit in a project under
		// version control, whose state says nothing about the gateway (and a
		// repository git refuses to read would fail the build).
		args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w"}
		if b.Offline {
			args = append(args, "-mod=mod")
		}
		args = append(args, "-o", tmp, ".")
		_, err = b.Go.Run(ctx, b.GenDir, args...)
		var goErr *GoError
		if errors.As(err, &goErr) {
			if b.Offline {
				if mod := missingOfflineModule(goErr.Output); mod != "" {
					return fmt.Errorf("%w: %s is not in the module cache; run one build without --offline (or `go mod download` in %s) while online first", ErrOfflineModules, mod, b.GenDir)
				}
			}
			return &CompileError{Output: MapCompilerOutput(goErr.Output, b.GenDir, b.Extensions, b.display)}
		}
		return err
	})
	if err != nil {
		if tmp != "" {
			os.Remove(tmp)
		}
		return err
	}

	return b.step(StepExecutable, func() error {
		if err := os.Rename(tmp, b.Output); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("write executable: %w", err)
		}
		return nil
	})
}

func (b *Builder) display(p string) string {
	if b.Display == nil {
		return p
	}
	return b.Display(p)
}

func (b *Builder) step(s Step, fn func() error) error {
	if b.Progress != nil {
		b.Progress(s, false, 0)
	}
	start := time.Now()
	if err := fn(); err != nil {
		return err
	}
	if b.Progress != nil {
		b.Progress(s, true, time.Since(start))
	}
	return nil
}

// goEnv is Env with what every gateway build needs: no workspace (a go.work
// above the project must not take over), the local toolchain only, static
// executables unless CGO_ENABLED is set, and the offline and cross-compile
// settings.
func (b *Builder) goEnv() []string {
	env := append([]string(nil), b.Env...)
	set := func(k, v string) { env = append(env, k+"="+v) }
	set("GOWORK", "off")
	set("GOTOOLCHAIN", "local")
	if !hasEnv(b.Env, "CGO_ENABLED") {
		set("CGO_ENABLED", "0")
	}
	if b.Offline {
		set("GOPROXY", "off")
	}
	if b.GOOS != "" {
		set("GOOS", b.GOOS)
	}
	if b.GOARCH != "" {
		set("GOARCH", b.GOARCH)
	}
	return env
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

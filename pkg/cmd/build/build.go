// Package build is `micro-gw build NAME`: API definitions, configuration and
// extensions of a project compiled into NAME/target/NAME (docs/build.md).
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	microgw "github.com/micro-gw/micro-gw"
	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// defaultTimeout bounds the go command: a cold build takes about a minute
// on a small machine.
const defaultTimeout = 15 * time.Minute

// BuildOptions are the inputs of one build.
type BuildOptions struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)
	// Environ is the environment handed to the go command.
	Environ func() []string
	// LookPath finds the go command.
	LookPath func(string) (string, error)
	// CacheDir is the user's cache folder (os.UserCacheDir).
	CacheDir func() (string, error)
	// Source is the module source compiled into gateways.
	Source  fs.FS
	Version string

	Project    string
	Offline    bool
	GOOS       string
	GOARCH     string
	KeepSource bool
	Verbose    bool
	Timeout    time.Duration

	// Image is --image REF: also write NAME/target/NAME.image.tar.
	Image string
	// Push is --push: send the image to REF's registry.
	Push bool
	// Kubernetes is --kubernetes: also write NAME/target/kubernetes/.
	Kubernetes bool
	// DeploymentConfig is -d FILE, the original's deployment-config.toml.
	DeploymentConfig string
	// Keychain finds registry credentials for --push.
	Keychain authn.Keychain
	// Getenv reads SOURCE_DATE_EPOCH.
	Getenv func(string) string
}

// NewCmdBuild returns `micro-gw build`; runF replaces the build in tests.
func NewCmdBuild(f *factory.Factory, runF func(*BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{
		Out:      f.Out,
		ErrOut:   f.ErrOut,
		Getwd:    f.Getwd,
		Environ:  os.Environ,
		LookPath: exec.LookPath,
		CacheDir: os.UserCacheDir,
		Source:   microgw.Source,
		Version:  f.Version,
		Keychain: authn.DefaultKeychain,
		Getenv:   os.Getenv,
	}
	cmd := &cobra.Command{
		Use:   "build NAME",
		Short: "Build the gateway executable of a project",
		Long: "Build reads every definition in NAME/api_definitions, validates it, generates the Go\n" +
			"source of a gateway with the routes compiled in, adds NAME/extensions/*.go and\n" +
			"compiles it with the Go toolchain (go 1.26 or later on PATH) to NAME/target/NAME.",
		Example: "  micro-gw build petstore\n  micro-gw build petstore --offline --goos linux --goarch arm64\n" +
			"  micro-gw build petstore --image registry.example/team/petstore:1.0 --push --kubernetes",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Project = args[0]
			if runF != nil {
				return runF(opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Offline, "offline", false, "build from the module cache only (GOPROXY=off)")
	fl.StringVar(&opts.GOOS, "goos", "", "operating system of the executable (GOOS)")
	fl.StringVar(&opts.GOARCH, "goarch", "", "architecture of the executable (GOARCH)")
	fl.BoolVar(&opts.KeepSource, "keep-source", false, "generate into NAME/"+project.GenDir+" and keep it there")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "log the go commands that run")
	fl.DurationVar(&opts.Timeout, "timeout", defaultTimeout, "give up on the go command after this long")
	fl.StringVar(&opts.Image, "image", "", "also write NAME/target/NAME.image.tar, a container image tagged `REF` (linux, no daemon needed)")
	fl.BoolVar(&opts.Push, "push", false, "push the image to REF's registry (credentials of ~/.docker/config.json)")
	fl.BoolVar(&opts.Kubernetes, "kubernetes", false, "also write NAME/target/kubernetes/: Deployment, Service, ConfigMap, Secret, PodDisruptionBudget, kustomization")
	fl.StringVarP(&opts.DeploymentConfig, "deployment-config", "d", "", "the original's deployment-config.toml: its [docker] and [kubernetes] sections set what the flags set")
	return cmd
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	// An interrupted build stops the go command and removes its temporary
	// executable instead of dying with it half written.
	ctx, stop := factory.UntilSignal(ctx)
	defer stop()
	start := time.Now()
	if err := build(ctx, opts); err != nil {
		fmt.Fprintln(opts.ErrOut, err)
		fmt.Fprintln(opts.ErrOut, "BUILD FAILED")
		return &factory.ExitError{Code: 1}
	}
	fmt.Fprintf(opts.Out, "BUILD SUCCESSFUL (%s)\n", round(time.Since(start)))
	return nil
}

func build(ctx context.Context, opts *BuildOptions) error {
	wd, err := opts.Getwd()
	if err != nil {
		return fmt.Errorf("find working directory: %w", err)
	}
	p, err := project.Open(wd, opts.Project)
	if errors.Is(err, project.ErrNotExist) {
		return originalMessage(fmt.Sprintf("Project %s does not exist.", opts.Project))
	}
	if err != nil {
		return err
	}
	defs, err := p.Definitions()
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list api definitions: %w", err)
	}
	if len(defs) == 0 {
		return originalMessage("Nothing to build. API definitions does not exist.")
	}
	ship, err := planShipping(opts, wd)
	if err != nil {
		return err
	}
	exts, err := p.Extensions()
	if err != nil {
		return fmt.Errorf("list extensions: %w", err)
	}
	cache, err := opts.CacheDir()
	if err != nil {
		return fmt.Errorf("find cache folder: %w", err)
	}
	cache = filepath.Join(cache, "micro-gw")
	goTool, err := codegen.FindGo(opts.LookPath)
	if err != nil {
		return err
	}
	goTool.Timeout = opts.Timeout
	level := slog.LevelWarn
	if opts.Verbose {
		level = slog.LevelDebug
	}
	goTool.Log = slog.New(slog.NewTextHandler(opts.ErrOut, &slog.HandlerOptions{Level: level}))

	remind := &reminder{out: opts.Out, first: 20 * time.Second, every: 30 * time.Second}
	defer remind.Stop()
	b := &codegen.Builder{
		Name:        p.Name,
		Version:     opts.Version,
		Definitions: defs,
		Display:     func(p string) string { return display(wd, p) },
		Extensions:  exts,
		Policies:    p.Path(project.PoliciesFile),
		Source:      opts.Source,
		CacheDir:    cache,
		GenDir:      genDir(p, cache, opts.KeepSource),
		Output:      p.Executable(opts.GOOS),
		Go:          goTool,
		Env:         ship.goEnv(opts.Environ()),
		Offline:     opts.Offline,
		GOOS:        opts.GOOS,
		GOARCH:      opts.GOARCH,
		Progress: func(step codegen.Step, done bool, took time.Duration) {
			remind.Stop()
			if done {
				remind.printf("\t%s done (%s)\n", step, round(took))
				return
			}
			remind.printf("%s\n", step)
			if step == codegen.StepCompile {
				remind.start(string(step))
			}
		},
		Loaded: func(api runtime.API, file string, warnings []*codegen.DefinitionError) {
			fmt.Fprintf(opts.Out, "\t%s: %q %s at %s, %d resources\n",
				file, api.Title, api.Version, api.BasePath, len(api.Resources))
			shown := warnings
			if !opts.Verbose && len(shown) > maxWarnings {
				shown = shown[:maxWarnings]
			}
			for _, w := range shown {
				fmt.Fprintf(opts.ErrOut, "\tWARNING: %s\n", w)
			}
			if n := len(warnings) - len(shown); n > 0 {
				fmt.Fprintf(opts.ErrOut, "\t... and %d more warnings about %s (-v shows them all)\n", n, file)
			}
		},
	}
	if err := b.Build(ctx); err != nil {
		return err
	}
	if !opts.KeepSource {
		// Each project and each toolkit version adds a folder to the cache:
		// keep only what a later build reuses.
		if err := codegen.MarkGenDir(b.GenDir, p.Root); err != nil {
			goTool.Log.Warn("cannot record the project of the generated source; a later build may remove it", "dir", b.GenDir, "err", err)
		}
		for _, dir := range codegen.PruneCache(cache, time.Now()) {
			goTool.Log.Debug("removed from the build cache: no later build reuses it", "dir", dir)
		}
	}
	fmt.Fprintf(opts.Out, "\t%s\n", b.Output)
	if err := ship.ship(ctx, opts, p, b.Output, wd); err != nil {
		return err
	}
	if opts.KeepSource {
		fmt.Fprintf(opts.Out, "Generated source kept in %s\n", b.GenDir)
	} else if kept := p.Path(project.GenDir); dirExists(kept) {
		// Left by an earlier --keep-source build (and perhaps changed by
		// its user): not removed, but no longer what the executable is.
		fmt.Fprintf(opts.Out, "note: %s is from an earlier --keep-source build; this build did not use it\n", display(wd, kept))
	}
	return nil
}

// maxWarnings is how many warnings of one definition a build prints without
// -v: GitHub's definition has over 600 faulty examples, which would bury the
// build's own lines.
const maxWarnings = 10

// originalMessage is an error worded as WSO2 API Microgateway worded it,
// kept for users who migrate from it (and their scripts).
type originalMessage string

func (m originalMessage) Error() string { return string(m) }

// genDir is where the gateway's source is generated: NAME/target/gen with
// --keep-source, else a folder of the user's cache that is the same for the
// same project, so that the next build of it finds the Go build cache warm.
func genDir(p project.Project, cache string, keep bool) string {
	if keep {
		return p.Path(project.GenDir)
	}
	return filepath.Join(cache, "gen", codegen.ProjectKey(p.Root))
}

// display names a file relative to the working directory when it is below
// it, as the user typed the project's path, else by its absolute path.
func display(wd, file string) string {
	if rel, err := filepath.Rel(wd, file); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return file
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// Package initcmd is `micro-gw init NAME`: a new project folder with its
// configuration, example extension and fresh keys (design.md section 3).
package initcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/codegen"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// InitOptions are the inputs of `micro-gw init`.
type InitOptions struct {
	Out   io.Writer
	Getwd func() (string, error)

	// Name is the project's path as typed.
	Name        string
	Force       bool
	Definitions []string
}

// NewCmdInit returns `micro-gw init`; runF replaces the run in tests.
func NewCmdInit(f *factory.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{Out: f.Out, Getwd: f.Getwd}
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Make a new project",
		Long: "Init makes the project folder NAME (a path; the project's name is its last element)\n" +
			"with api_definitions/, conf/micro-gw.conf, extensions/, security/ (a fresh TLS key pair\n" +
			"and development token issuer) and target/.",
		Example: "  micro-gw init petstore --api-definition samples/petstore_basic.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "write into an existing project folder")
	cmd.Flags().StringArrayVarP(&opts.Definitions, "api-definition", "a", nil, "copy an OpenAPI definition `FILE` into api_definitions/ (repeatable)")
	return cmd
}

func initRun(ctx context.Context, opts *InitOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	wd, err := opts.Getwd()
	if err != nil {
		return fmt.Errorf("find working directory: %w", err)
	}
	// Definitions are checked before anything is written: one that would
	// not build is refused now, not at the first build.
	defs := make([]string, len(opts.Definitions))
	byBasePath := map[string]string{}
	for i, def := range opts.Definitions {
		defs[i] = project.New(wd, def).Root
		api, err := codegen.LoadAPI(ctx, defs[i])
		var defErr *codegen.DefinitionError
		if errors.As(err, &defErr) {
			defErr.File = def
		}
		if err != nil {
			return err
		}
		if first, dup := byBasePath[api.BasePath]; dup {
			return &codegen.DuplicateBasePathError{BasePath: api.BasePath, First: first, Other: def}
		}
		byBasePath[api.BasePath] = def
	}
	p := project.New(wd, opts.Name)
	if err := project.Scaffold(p, project.ScaffoldOptions{Force: opts.Force, Definitions: defs}); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Project '%s' is initialized successfully.\n", opts.Name)
	if len(defs) > 0 {
		fmt.Fprintf(opts.Out, "Next: micro-gw build %s\n", opts.Name)
	} else {
		fmt.Fprintf(opts.Out, "Next: add API definitions to %s and run 'micro-gw build %s'\n",
			filepath.Join(opts.Name, project.DefinitionsDir), opts.Name)
	}
	return nil
}

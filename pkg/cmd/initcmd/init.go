// Package initcmd is `micro-gw init NAME`: a new project folder with its
// configuration, example extension and fresh keys (docs/build.md).
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
	Out, ErrOut io.Writer
	Getwd       func() (string, error)

	// Name is the project's path as typed.
	Name        string
	Force       bool
	Definitions []string
}

// NewCmdInit returns `micro-gw init`; runF replaces the run in tests.
func NewCmdInit(f *factory.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd}
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
	// Definitions are checked before anything is written, with the code of
	// the build: one that would not build is refused now, not at the first
	// build.
	defs := make([]string, len(opts.Definitions))
	for i, def := range opts.Definitions {
		defs[i] = project.New(wd, def).Root
	}
	var parts []project.Part
	var notices []*codegen.DefinitionError
	if len(defs) > 0 {
		d := display{abs: defs, typed: opts.Definitions}
		loaded, err := codegen.LoadAll(ctx, defs)
		if err != nil {
			return d.err(err)
		}
		if parts, err = definitionParts(loaded, d); err != nil {
			return err
		}
		notices = endpointNotices(loaded, d)
	}
	p := project.New(wd, opts.Name)
	if err := project.Scaffold(p, project.ScaffoldOptions{Force: opts.Force, Definitions: defs, Parts: parts}); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Project '%s' is initialized successfully.\n", opts.Name)
	for _, n := range notices {
		fmt.Fprintf(opts.ErrOut, "WARNING: %s\n", n)
	}
	if len(defs) > 0 {
		fmt.Fprintf(opts.Out, "Next: micro-gw build %s\n", opts.Name)
	} else {
		fmt.Fprintf(opts.Out, "Next: add API definitions to %s and run 'micro-gw build %s'\n",
			filepath.Join(opts.Name, project.DefinitionsDir), opts.Name)
	}
	return nil
}

// endpointNotices are the build's warnings about APIs without an endpoint,
// with the files named as typed: such a definition is taken, and the user
// learns at once what the gateway needs before it starts.
func endpointNotices(loaded []codegen.Loaded, d display) []*codegen.DefinitionError {
	var out []*codegen.DefinitionError
	for _, l := range loaded {
		for _, w := range l.Warnings {
			if noEndpoint := (*codegen.NoEndpointError)(nil); errors.As(w, &noEndpoint) {
				w.File = d.name(w.File)
				out = append(out, w)
			}
		}
	}
	return out
}

// definitionParts are the files that the definitions reference, to be copied
// with them at the same paths relative to them. A part beside its definition
// is refused: the build takes every file directly in api_definitions/ for an
// API.
func definitionParts(loaded []codegen.Loaded, d display) ([]project.Part, error) {
	var parts []project.Part
	for _, l := range loaded {
		for _, part := range l.Parts {
			rel, err := filepath.Rel(filepath.Dir(l.File), part)
			if err != nil || !filepath.IsLocal(rel) {
				return nil, fmt.Errorf("%s: $ref to %s: outside the folder of the definition", d.name(l.File), d.name(part))
			}
			if filepath.Dir(rel) == "." {
				return nil, fmt.Errorf("%s: $ref to %s: a file the definition references must be in a subfolder of the definition's folder, "+
					"since every file directly in api_definitions/ is taken for an API; move %s into a subfolder (e.g. parts/%s) and change the $refs to it",
					d.name(l.File), rel, d.name(part), rel)
			}
			parts = append(parts, project.Part{Source: part, Target: rel})
		}
	}
	return parts, nil
}

// display names the files of the definitions as the user typed them.
type display struct {
	abs, typed []string
}

// name is file (a definition or a part in its folder or below) as typed.
func (d display) name(file string) string {
	for i, abs := range d.abs {
		if file == abs {
			return d.typed[i]
		}
	}
	for i, abs := range d.abs {
		if rel, err := filepath.Rel(filepath.Dir(abs), file); err == nil && filepath.IsLocal(rel) {
			return filepath.Join(filepath.Dir(d.typed[i]), rel)
		}
	}
	return file
}

// err renames the files that err names.
func (d display) err(err error) error {
	var defErr *codegen.DefinitionError
	if errors.As(err, &defErr) {
		defErr.File = d.name(defErr.File)
	}
	var dupErr *codegen.DuplicateBasePathError
	if errors.As(err, &dupErr) {
		dupErr.First, dupErr.Other = d.name(dupErr.First), d.name(dupErr.Other)
	}
	var routeErr *codegen.RouteConflictError
	if errors.As(err, &routeErr) && routeErr.OtherFile != "" {
		routeErr.OtherFile = d.name(routeErr.OtherFile)
	}
	return err
}

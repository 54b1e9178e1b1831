package codegen

import (
	"context"
	"fmt"

	"github.com/micro-gw/micro-gw/pkg/runtime"
)

// DuplicateBasePathError is two definitions claiming the same base path.
type DuplicateBasePathError struct {
	BasePath     string
	First, Other string
}

func (e *DuplicateBasePathError) Error() string {
	return fmt.Sprintf("%s and %s both have the base path %s: every API needs its own", e.First, e.Other, e.BasePath)
}

// LoadAPI loads, validates and extracts one definition.
func LoadAPI(ctx context.Context, file string) (runtime.API, error) {
	d, err := LoadDefinition(ctx, file)
	if err != nil {
		return runtime.API{}, err
	}
	return d.API()
}

// Loaded is one definition's API and the warnings about it.
type Loaded struct {
	API      runtime.API
	File     string
	Warnings []*DefinitionError
}

// LoadAPIs loads every definition of files into the APIs of a Spec, in the
// order given. Two definitions with the same base path are an error naming
// both files.
func LoadAPIs(ctx context.Context, files []string) ([]runtime.API, error) {
	loaded, err := LoadAll(ctx, files)
	if err != nil {
		return nil, err
	}
	apis := make([]runtime.API, len(loaded))
	for i, l := range loaded {
		apis[i] = l.API
	}
	return apis, nil
}

// LoadAll is LoadAPIs with the warnings of every definition (extensions it
// does not honour).
func LoadAll(ctx context.Context, files []string) ([]Loaded, error) {
	loaded := make([]Loaded, 0, len(files))
	byBasePath := map[string]string{}
	for _, file := range files {
		d, err := LoadDefinition(ctx, file)
		if err != nil {
			return nil, err
		}
		api, err := d.API()
		if err != nil {
			return nil, err
		}
		if first, dup := byBasePath[api.BasePath]; dup {
			return nil, &DuplicateBasePathError{BasePath: api.BasePath, First: first, Other: file}
		}
		byBasePath[api.BasePath] = file
		loaded = append(loaded, Loaded{API: api, File: file, Warnings: d.Warnings()})
	}
	spec := runtime.Spec{APIs: make([]runtime.API, len(loaded))}
	for i, l := range loaded {
		spec.APIs[i] = l.API
	}
	if err := spec.CheckRoutes(); err != nil {
		return nil, fmt.Errorf("the gateway could not route these definitions: %w", err)
	}
	return loaded, nil
}

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

// LoadAPIs loads every definition of files into the APIs of a Spec, in the
// order given. Two definitions with the same base path are an error naming
// both files.
func LoadAPIs(ctx context.Context, files []string) ([]runtime.API, error) {
	apis := make([]runtime.API, 0, len(files))
	byBasePath := map[string]string{}
	for _, file := range files {
		api, err := LoadAPI(ctx, file)
		if err != nil {
			return nil, err
		}
		if first, dup := byBasePath[api.BasePath]; dup {
			return nil, &DuplicateBasePathError{BasePath: api.BasePath, First: first, Other: file}
		}
		byBasePath[api.BasePath] = file
		apis = append(apis, api)
	}
	return apis, nil
}

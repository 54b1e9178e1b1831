package codegen

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

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

// Loaded is one definition's API and the warnings about it.
type Loaded struct {
	API      runtime.API
	File     string
	Warnings []*DefinitionError
	// Parts are the files the definition's $refs made the build read (in
	// File's folder or below, as localRefReader allows), File excluded.
	Parts []string
	// def is the loaded definition, for the line of a later fault.
	def *Definition
}

// LoadAll loads every definition of files, in the order given, with the
// warnings of each (extensions it does not honour). Two definitions with
// the same base path are an error naming both files.
func LoadAll(ctx context.Context, files []string) ([]Loaded, error) {
	loaded := make([]Loaded, 0, len(files))
	defs := make([]*Definition, 0, len(files))
	byBasePath := map[string]string{}
	for _, file := range files {
		rctx, rec := withPartRecorder(ctx)
		d, err := LoadDefinition(rctx, file)
		if err != nil {
			return nil, missingRefLine(err, file, rec)
		}
		api, err := d.API()
		if err != nil {
			return nil, err
		}
		if first, dup := byBasePath[api.BasePath]; dup {
			return nil, &DuplicateBasePathError{BasePath: api.BasePath, First: first, Other: file}
		}
		byBasePath[api.BasePath] = file
		defs = append(defs, d)
		warnings := append(d.Warnings(), d.endpointNotice(api)...)
		loaded = append(loaded, Loaded{API: api, File: file, Warnings: warnings, Parts: rec.parts(file), def: d})
	}
	spec := runtime.Spec{APIs: make([]runtime.API, len(loaded))}
	for i, l := range loaded {
		spec.APIs[i] = l.API
	}
	if err := spec.CheckRoutes(); err != nil {
		// Only now the search for the two operations, which builds a router
		// for each pair it tries.
		if c := spec.FindRouteConflict(); c != nil {
			return nil, routeConflict(spec, defs, c)
		}
		return nil, fmt.Errorf("the gateway could not route these definitions: %w", err)
	}
	return loaded, nil
}

// missingRefLine moves the error about a $ref to a file that does not exist
// from the top of the definition to the line of that $ref (in the
// definition or in a part it read), when one names the file.
func missingRefLine(err error, file string, rec *partRecorder) error {
	var defErr *DefinitionError
	if rec.absent == "" || !errors.As(err, &defErr) || !strings.Contains(defErr.Error(), errNoSuchFile.Error()) {
		return err
	}
	if in, line := refLine(append([]string{file}, rec.parts(file)...), rec.absent); line > 0 {
		defErr.File, defErr.Line, defErr.Path = in, line, ""
	}
	return err
}

// RouteConflictError is two operations that the gateway's router cannot tell
// apart: they would receive the same requests. It is the Err of a
// *DefinitionError at the second of the two.
type RouteConflictError struct {
	Method string
	// Path is the second path template as written in its definition; Route
	// is it with the base path, as the gateway routes it.
	Path, Route string
	// OtherPath and OtherRoute are the first one's.
	OtherPath, OtherRoute string
	// OtherFile is the first one's definition, "" when it is the same file;
	// OtherLine its line, 0 when unknown.
	OtherFile string
	OtherLine int
}

func (e *RouteConflictError) Error() string {
	where := e.OtherFile
	if e.OtherLine > 0 {
		if where != "" {
			where += ":"
		} else {
			where = "line "
		}
		where += strconv.Itoa(e.OtherLine)
	}
	if where != "" {
		where = " (" + where + ")"
	}
	var why string
	trimmed := strings.TrimSuffix(e.Route, "/")
	otherTrimmed := strings.TrimSuffix(e.OtherRoute, "/")
	slash := trimmed != e.Route || otherTrimmed != e.OtherRoute
	names := trimmed != otherTrimmed && pathShape(trimmed) == pathShape(otherTrimmed)
	switch {
	case e.Route == e.OtherRoute && e.Path != e.OtherPath:
		why = fmt.Sprintf("with their base paths both are the route %s", e.Route)
	case slash && names:
		why = "the gateway's router treats a trailing slash as the same resource, and two templates of the same shape with different parameter names match the same requests"
	case slash && trimmed == otherTrimmed:
		why = "the gateway's router treats a trailing slash as the same resource, so both would receive the same requests"
	case names:
		why = "two templates of the same shape with different parameter names match the same requests"
	default:
		why = "the gateway's router cannot tell them apart: both match the same requests"
	}
	if (e.Route != e.Path || e.OtherRoute != e.OtherPath) && e.Route != e.OtherRoute {
		why += fmt.Sprintf(" (with the base path: %s and %s)", e.Route, e.OtherRoute)
	}
	return fmt.Sprintf("%s %s and %s %s%s cannot both be routed: %s; keep one of the two",
		e.Method, e.Path, e.Method, e.OtherPath, where, why)
}

// routeConflict is the error about conflict c of spec, whose APIs come from
// defs, at the second of the two operations.
func routeConflict(spec runtime.Spec, defs []*Definition, c *runtime.RouteConflict) error {
	api, other := spec.APIs[c.SecondAPI], spec.APIs[c.FirstAPI]
	res, otherRes := api.Resources[c.SecondResource], other.Resources[c.FirstResource]
	d, otherDef := defs[c.SecondAPI], defs[c.FirstAPI]
	method := strings.ToLower(res.Method)
	e := &RouteConflictError{
		Method:     res.Method,
		Path:       res.Path,
		Route:      route(api.BasePath, res.Path),
		OtherPath:  otherRes.Path,
		OtherRoute: route(other.BasePath, otherRes.Path),
		OtherLine:  lineOf(otherDef.root, jsonPath{"paths", otherRes.Path, strings.ToLower(otherRes.Method)}),
	}
	if otherDef.File != d.File {
		e.OtherFile = otherDef.File
		if filepath.Dir(otherDef.File) == filepath.Dir(d.File) {
			e.OtherFile = filepath.Base(otherDef.File)
		}
	}
	return d.wrap(jsonPath{"paths", res.Path, method}, e)
}

// route is the template p of an API with base path base, as the router
// takes it.
func route(base, p string) string {
	r := path.Join(base, p)
	if strings.HasSuffix(p, "/") && r != "/" {
		r += "/"
	}
	return r
}

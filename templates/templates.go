// Package templates holds the files micro-gw writes: the project scaffold of
// `micro-gw init` (project/) and the generated main package of `micro-gw
// build` (gen/). They are embedded so that a micro-gw binary needs nothing
// beside it.
package templates

import "embed"

// Project is the scaffold copied into a new project: conf/micro-gw.conf and
// extensions/. Its paths start with "project/"; a Go file is kept as
// foo.go.tmpl (so that it is not a package of this module) and copied as
// foo.go.
//
//go:embed all:project
var Project embed.FS

// Gen holds the text/template of the generated main package.
//
//go:embed gen
var Gen embed.FS

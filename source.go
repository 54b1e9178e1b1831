// Package microgw carries the source of this module, so that a micro-gw
// binary can compile gateways against the runtime it was built with,
// wherever it is copied and without network (docs/build.md).
package microgw

import "embed"

// Source is the module's go.mod, go.sum, pkg/ and templates/: everything a
// generated gateway imports, directly or through the runtime. Test files and
// testdata are embedded too (embed cannot leave them out) and skipped when
// the source is unpacked.
//
//go:embed go.mod go.sum pkg templates
var Source embed.FS

// ModulePath is the module the generated gateways require.
const ModulePath = "github.com/micro-gw/micro-gw"

package codegen

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/internal/located"
)

// DefinitionError is a fault in one file a build reads (an API definition,
// policies.yaml): the file, the line where it is known, and the JSON path of
// the faulty element where there is one.
type DefinitionError struct {
	File string
	// Line is 1-based; 0 when unknown.
	Line int
	// Path is the JSON path of the fault, e.g. $.paths["/pet"].get; "" when
	// the fault is in the file as a whole.
	Path string
	Err  error
}

func (e *DefinitionError) Error() string { return located.Message(e.File, e.Line, e.Err, e.Path) }

func (e *DefinitionError) Unwrap() error { return e.Err }

// jsonPath is a path into a document, one element per key or index.
type jsonPath []string

// child returns a copy of p with keys appended; p itself is never changed,
// so paths can be extended from a shared prefix.
func (p jsonPath) child(keys ...string) jsonPath {
	out := make(jsonPath, 0, len(p)+len(keys))
	return append(append(out, p...), keys...)
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// String renders p as a JSON path: $.info.title, $.paths["/pet/{id}"].get,
// $.servers[0].
func (p jsonPath) String() string {
	var b strings.Builder
	b.WriteString("$")
	for _, k := range p {
		switch {
		case isIndex(k):
			b.WriteString("[" + k[1:] + "]")
		case plainKey.MatchString(k):
			b.WriteString("." + k)
		default:
			b.WriteString("[" + strconv.Quote(k) + "]")
		}
	}
	return b.String()
}

// isIndex reports whether k is a sequence index; indexes are stored as
// "#<n>" so that a mapping key "0" is not mistaken for one.
func isIndex(k string) bool { return strings.HasPrefix(k, "#") }

func index(i int) string { return "#" + strconv.Itoa(i) }

// indexValue is the number of a sequence index made by index.
func indexValue(k string) (int, bool) {
	if !isIndex(k) {
		return 0, false
	}
	i, err := strconv.Atoi(k[1:])
	return i, err == nil && i >= 0
}

// errorAt makes a fault at path; the loader that knows the document fills in
// the file and the line.
func errorAt(path jsonPath, format string, a ...any) *pathError {
	return &pathError{path: path, err: fmt.Errorf(format, a...)}
}

// pathError is a fault at a JSON path of a document, before the file and
// line are known.
type pathError struct {
	path jsonPath
	err  error
}

func (e *pathError) Error() string { return e.path.String() + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

package config

import (
	"errors"
	"math"

	"github.com/micro-gw/micro-gw/pkg/internal/located"
)

// Error is a fault in a configuration: the conf file, the dotted key (with
// an index for array tables, e.g. jwtTokenConfig[1].issuer) and where the
// bad value was set: the file's line, or Via, the -e override or the MGW_
// variable (Line is then 0).
type Error struct {
	File string
	Key  string
	Line int
	// Via is "-e override" or "environment variable MGW_...", when the
	// value did not come from the file.
	Via string
	Err error
}

func (e *Error) Error() string { return located.Message(e.File, e.Line, e.Err, e.Key, e.Via) }

func (e *Error) Unwrap() error { return e.Err }

// ErrUnknownKey is wrapped by the Error of a key, section or MGW_ variable
// the schema does not know.
var ErrUnknownKey = errors.New("unknown key")

// viaFlag and viaEnv name the layer of a fault that has no line.
const viaFlag = "-e override"

func viaEnv(name string) string { return "environment variable " + name }

// rank orders faults: the file's by line, then those without a line.
func rank(e *Error) int {
	if e.Line == 0 {
		return math.MaxInt
	}
	return e.Line
}

// faults keeps the first fault by rank, so that the user is pointed at the
// top-most problem; the others usually follow from it.
type faults struct {
	err *Error
}

func (f *faults) add(e *Error) {
	if f.err == nil || rank(e) < rank(f.err) {
		f.err = e
	}
}

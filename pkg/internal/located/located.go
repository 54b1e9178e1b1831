// Package located writes the message of a fault found at a place in a file
// the way compilers do, file:line: where: what, so that terminals and
// editors jump to it: a build's definition errors and the gateway's
// configuration errors read alike.
package located

import (
	"strconv"
	"strings"
)

// Message is file, then :line when line is positive, then each non-empty
// part of where (a JSON path, a key, the layer that set it) and last err,
// separated by ": ". An empty file is left out.
func Message(file string, line int, err error, where ...string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(line))
	}
	for _, part := range where {
		if part == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(part)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(err.Error())
	return b.String()
}

package codegen

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// paramName is a parameter's name in a template: letters and digits of any
// script (名前 is a name), _ . and -. The router binds no names; the rule
// only keeps out what would make a template ambiguous ({, }, /, spaces).
var paramName = regexp.MustCompile(`^[\p{L}\p{N}_.-]+$`)

// checkPathTemplate checks an OpenAPI path template for the router: it
// starts with "/", a parameter is {name} with a plain name (the same name
// may come twice: the router matches segments, it binds no names), and
// parameters in one segment ({name}.json, {base}...{head}) have text
// between them, or no request could say where one ends.
func checkPathTemplate(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("a path must start with /")
	}
	if strings.ContainsAny(p, "?# \t\r\n\\") {
		return errors.New("a path must not hold a query, a fragment, spaces or backslashes")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return errors.New("a path must not have . or .. segments")
		}
		for rest, first := seg, true; strings.ContainsAny(rest, "{}"); first = false {
			open, closing := strings.IndexByte(rest, '{'), strings.IndexByte(rest, '}')
			if open < 0 || closing < open+2 || strings.IndexByte(rest[open+1:closing], '{') >= 0 {
				return fmt.Errorf("path parameter segment %q: a parameter is {name}, as in {petId} or {name}.json", seg)
			}
			if open == 0 && !first {
				return fmt.Errorf("path parameter segment %q: two parameters need text between them, as in {base}...{head}", seg)
			}
			name := rest[open+1 : closing]
			if !paramName.MatchString(name) {
				return fmt.Errorf("path parameter %q: a name is letters and digits (of any script), _ . or -", name)
			}
			rest = rest[closing+1:]
		}
	}
	return nil
}

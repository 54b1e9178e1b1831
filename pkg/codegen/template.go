package codegen

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var paramName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkPathTemplate checks an OpenAPI path template for the router: it
// starts with "/", and a parameter {name} is a whole segment with a plain
// name, used once.
func checkPathTemplate(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("a path must start with /")
	}
	if strings.ContainsAny(p, "?# \t\r\n\\") {
		return errors.New("a path must not hold a query, a fragment, spaces or backslashes")
	}
	seen := map[string]bool{}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return errors.New("a path must not have . or .. segments")
		}
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' || strings.Count(seg, "{") != 1 || strings.Count(seg, "}") != 1 {
			return fmt.Errorf("path parameter segment %q: a parameter must be a whole segment such as {petId}", seg)
		}
		name := seg[1 : len(seg)-1]
		if !paramName.MatchString(name) {
			return fmt.Errorf("path parameter %q: a name is letters, digits, _ . or -", name)
		}
		if seen[name] {
			return fmt.Errorf("path parameter %q is used twice", name)
		}
		seen[name] = true
	}
	return nil
}

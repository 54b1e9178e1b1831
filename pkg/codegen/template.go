package codegen

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var paramName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkPathTemplate checks an OpenAPI path template for the router: it
// starts with "/", a segment holds at most one parameter {name} (alone, as in
// {petId}, or with literal text around it, as in {name}.json or v{major}),
// and each name is plain and used once.
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
		open, closing := strings.IndexByte(seg, '{'), strings.IndexByte(seg, '}')
		if strings.Count(seg, "{") != 1 || strings.Count(seg, "}") != 1 || closing < open+2 {
			return fmt.Errorf("path parameter segment %q: a segment holds one parameter, such as {petId} or {name}.json", seg)
		}
		name := seg[open+1 : closing]
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

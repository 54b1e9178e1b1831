package codegen

import (
	"regexp"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// envReference is a whole value that names an environment variable,
// "${NAME}", the only password a definition may hold.
var envReference = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// parseSecurityConfig reads an endpoint's securityConfig, WSO2's
// {type: basic, username: U, password: P}. The password is compiled into
// the executable only as the ${NAME} of the variable that holds it: a
// password written out would be in every copy of the binary and of its
// image, so it is refused. Left out, it is given when the gateway starts.
// Neither the password nor the user name appears in an error.
func parseSecurityConfig(v any, at jsonPath) (*runtime.BasicAuth, error) {
	m, err := objectWith(v, at, "{type: basic, username: U, password: \"${NAME}\"}", "type", "basic")
	if err != nil {
		return nil, err
	}
	b := &runtime.BasicAuth{}
	for _, key := range sortedKeys(m) {
		switch key {
		case "type":
			t, isString := m[key].(string)
			if !isString || !strings.EqualFold(t, "basic") {
				return nil, errorAt(at.child(key), "must be \"basic\", the only kind of backend credentials micro-gw sends, got %s", describe(m[key]))
			}
		case "username":
			u, isString := m[key].(string)
			if !isString {
				return nil, errorAt(at.child(key), "must be a string")
			}
			if err := config.CheckBasicUsername(u); err != nil {
				return nil, &pathError{path: at.child(key), err: err}
			}
			b.Username = u
		case "password":
			p, isString := m[key].(string)
			if !isString || !envReference.MatchString(p) {
				return nil, errorAt(at.child(key), "must be \"${NAME}\", the environment variable that holds the password when the gateway starts: "+
					"a password written here would be compiled into the executable (the value is not shown); or leave it out and give it at start")
			}
			b.Password = p
		default:
			return nil, errorAt(at.child(key), "unknown key: securityConfig has type, username and password")
		}
	}
	return b, nil
}

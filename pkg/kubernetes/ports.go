package kubernetes

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// ListenerPorts reads the listener ports a gateway will have from its
// micro-gw.conf and the MGW_* variables the Deployment sets (env), for the
// container's and the Service's ports and the probes. A port the conf takes
// from "${ENV}" is not known when building: the default is assumed, and
// said in a note. Only [listenerConfig]'s three ports are read; the gateway
// itself checks the rest of the conf when it starts.
func ListenerPorts(conf []byte, env map[string]string) (Ports, []string, error) {
	var c struct {
		Listener struct {
			HTTP  any `toml:"httpPort"`
			HTTPS any `toml:"httpsPort"`
			Admin any `toml:"adminPort"`
		} `toml:"listenerConfig"`
	}
	if err := toml.NewDecoder(bytes.NewReader(conf)).Decode(&c); err != nil {
		return Ports{}, nil, fmt.Errorf("read the listener ports: %w", err)
	}
	p := DefaultPorts
	var notes []string
	for _, f := range []struct {
		key  string
		v    any
		port *int32
	}{
		{"httpPort", c.Listener.HTTP, &p.HTTP},
		{"httpsPort", c.Listener.HTTPS, &p.HTTPS},
		{"adminPort", c.Listener.Admin, &p.Admin},
	} {
		if s, ok := env["MGW_LISTENERCONFIG_"+upper(f.key)]; ok {
			f.v = s
		}
		switch v := f.v.(type) {
		case nil:
		case int64:
			if v < 0 || v > 65535 {
				return Ports{}, nil, fmt.Errorf("listenerConfig.%s = %d is not a port", f.key, v)
			}
			*f.port = int32(v)
		case string:
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				notes = append(notes, fmt.Sprintf("listenerConfig.%s = %q is not known when building: the manifests assume %d", f.key, v, *f.port))
				continue
			}
			*f.port = int32(n)
		default:
			return Ports{}, nil, fmt.Errorf("listenerConfig.%s: want an integer, got %v", f.key, v)
		}
	}
	return p, notes, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// PlainSecrets lists the keys of conf (dotted) that hold a password in
// plain text: a value of a key named *password that is neither "${ENV}"
// nor a password hash. The conf goes into a ConfigMap, which is not the
// place for them.
func PlainSecrets(conf []byte) []string {
	var tree map[string]any
	if err := toml.Unmarshal(conf, &tree); err != nil {
		return nil
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(join(prefix, k), e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", prefix, i), e)
			}
		case string:
			key := prefix[strings.LastIndex(prefix, ".")+1:]
			if v != "" && strings.HasSuffix(strings.ToLower(key), "password") && !strings.Contains(v, "${") && !isHash(v) {
				out = append(out, prefix)
			}
		}
	}
	walk("", tree)
	slices.Sort(out)
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// isHash reports a password hash of [b7a.users] (bcrypt, argon2id, the
// original's @sha256:{hex}).
func isHash(v string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$", "$argon2id$", "@sha256:"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

package config

import (
	"errors"
	"fmt"
	"strings"
)

// OverrideClaim lets a feature take a -e KEY=VALUE whose KEY is not a path of
// the configuration (such as the original's -e <endpointName>_prod_endpoint_0=URL):
// it is asked only about a KEY whose first part names no table or key, and
// says whether it took it. Its error is reported as the override's.
type OverrideClaim func(key, value string) (claimed bool, err error)

// overrideLayer reads the -e overrides, KEY=VALUE with KEY a dotted path in
// TOML syntax (array tables by index, jwtTokenConfig[0].audience; the next
// index adds a table), as the top layer. Each value is text, converted to
// its key's kind after ${NAME} substitution; of two overrides of one key
// the last wins.
func (l *loader) overrideLayer(overrides []string, claims []OverrideClaim) {
	y := l.newLayer(false)
	for _, o := range overrides {
		key, val, ok := strings.Cut(o, "=")
		key = strings.TrimSpace(key)
		org := Origin{Source: FromFlag, Name: key}
		if !ok || key == "" {
			// Only the key part may be shown: the value may be a secret.
			l.fault(org, key, errors.New("must be KEY=VALUE"))
			continue
		}
		parts, err := parseKey(key)
		if err == nil && l.root.node.child(parts[0].name) != nil {
			y.override(parts, text{s: val, expand: true}, org)
			continue
		}
		if claimed, cerr := claim(claims, key, val); claimed || cerr != nil {
			if cerr != nil {
				l.fault(org, key, cerr)
			}
			continue
		}
		if err == nil {
			err = unknownKeyError(l.root, parts[0].name)
		}
		l.fault(org, key, err)
	}
}

func claim(claims []OverrideClaim, key, val string) (bool, error) {
	for _, c := range claims {
		if ok, err := c(key, val); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// override sets the key at parts, from the root, to val.
func (y *layer) override(parts []keyPart, val text, org Origin) {
	r := y.l.root
	for i := 0; i < len(parts); i++ {
		p, last := parts[i], i == len(parts)-1
		n := r.node.child(p.name)
		shown := join(r.display, quoteKey(p.name))
		switch {
		case n == nil && last && p.index < 0 && r.node.pass != nil:
			y.pass(r, p.name, val, org)
			return
		case n == nil:
			y.l.fault(org, showKey(parts), unknownKeyError(r, p.name))
			return
		case n.shape == shapeKey:
			if !last || p.index >= 0 {
				y.l.fault(org, showKey(parts), fmt.Errorf("%w: %s is a key, not a table", ErrUnknownKey, shown))
				return
			}
			y.put(r, n, val, org)
			return
		case last:
			y.l.fault(org, showKey(parts), fmt.Errorf("%w: %s is a table; set one of its keys", ErrUnknownKey, shown))
			return
		case n.shape == shapeArray:
			c := r.to(n)
			if p.index < 0 {
				y.l.fault(org, showKey(parts), fmt.Errorf("%s is a list of tables: give an index, as in %s[0]", c.display, c.display))
				return
			}
			if count := y.l.counts[c.display]; p.index > count {
				y.l.fault(org, showKey(parts), fmt.Errorf("index %d out of range: %d [[%s]] table(s), the next one may be added", p.index, count, c.display))
				return
			}
			r = y.l.element(c, p.index, org)
		case p.index >= 0:
			y.l.fault(org, showKey(parts), fmt.Errorf("%s is not a list of tables: it takes no index", shown))
			return
		case n.shape == shapeMap:
			i++
			if i == len(parts)-1 || parts[i].index >= 0 {
				y.l.fault(org, showKey(parts), fmt.Errorf(`%s holds tables keyed by name: give the name and a key, as in %s."NAME".KEY`, shown, shown))
				return
			}
			r = y.l.entry(r.to(n), parts[i].name, org)
		default:
			r = r.to(n)
		}
	}
}

package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// EnvPrefix starts the name of every environment variable that sets a key.
const EnvPrefix = "MGW_"

// The environment layer (docs/configuration.md, "Environment variables"):
// MGW_ + the key's dotted path, each part upper-cased with every character
// other than a letter or a digit made "_", the parts joined by "_"; a table
// of an array by its index (MGW_JWTTOKENCONFIG_0_ISSUER). A name is matched
// against the keys the schema and the lower layers know, since it cannot be
// turned back into a key ("/Pets" and "/pets" give the same name): two keys
// it may name, or none, are an error naming the variable.

// envName is the part of a variable's name that stands for a key part.
func envName(part string) string {
	var b strings.Builder
	for _, r := range part {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// envSetting is one MGW_ variable and the key it names.
type envSetting struct {
	name, value string
	parts       []keyPart
}

// envLayer reads the MGW_ variables of env as the layer above the file.
// known adds entries of maps of tables (by schema path) to those the file
// writes, for names to match.
func (l *loader) envLayer(env []string, known map[string][]string) {
	var settings []envSetting
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		org := Origin{Source: FromEnv, Name: name}
		var m envMatcher
		m.l, m.known = l, known
		m.match(l.root, name[len(EnvPrefix):], nil)
		switch targets := m.targets(); len(targets) {
		case 0:
			l.fault(org, "", l.unknownEnv(name, known))
		case 1:
			settings = append(settings, envSetting{name, value, targets[0]})
		default:
			shown := make([]string, len(targets))
			for i, t := range targets {
				shown[i] = showKey(t)
			}
			l.fault(org, "", fmt.Errorf("names %s: two keys give this name; set them in the file or with -e", strings.Join(shown, " and ")))
		}
	}
	// Tables of an array are made in order: index 1 before index 2.
	slices.SortFunc(settings, func(a, b envSetting) int { return compareKeys(a.parts, b.parts) })
	y := l.newLayer(true)
	for _, s := range settings {
		y.override(s.parts, text{s: s.value}, Origin{Source: FromEnv, Name: s.name})
	}
	y.merge()
}

func compareKeys(a, b []keyPart) int {
	for i := range min(len(a), len(b)) {
		if c := cmp.Or(strings.Compare(a[i].name, b[i].name), cmp.Compare(a[i].index, b[i].index)); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// envMatcher finds the keys a variable's name may stand for.
type envMatcher struct {
	l     *loader
	known map[string][]string
	found []envFound
}

type envFound struct {
	parts []keyPart
	// canonical is the key the value is stored under (an alias's target).
	canonical string
	alias     bool
}

func (m *envMatcher) match(r ref, rest string, parts []keyPart) {
	with := func(name string, index int) []keyPart {
		return append(slices.Clip(parts), keyPart{name, index})
	}
	for _, n := range r.node.children {
		after, found := strings.CutPrefix(rest, envName(n.name)+"_")
		switch n.shape {
		case shapeKey:
			if rest == envName(n.name) {
				m.found = append(m.found, envFound{with(n.name, -1), canonicalOf(r, n), n.alias != nil})
			}
		case shapeTable:
			if found {
				m.match(r.to(n), after, with(n.name, -1))
			}
		case shapeArray:
			digits, tail, ok := strings.Cut(after, "_")
			i, err := strconv.Atoi(digits)
			if found && ok && err == nil && i >= 0 && strconv.Itoa(i) == digits {
				m.match(r.to(n).at(i), tail, with(n.name, i))
			}
		case shapeMap:
			if found {
				c := r.to(n)
				for _, k := range m.entries(c) {
					if tail, ok := strings.CutPrefix(after, envName(k)+"_"); ok {
						m.match(c.entry(k), tail, append(with(n.name, -1), keyPart{k, -1}))
					}
				}
			}
		}
	}
	if r.node.pass != nil {
		for _, k := range m.l.keys[r.display] {
			if rest == envName(k) {
				m.found = append(m.found, envFound{with(k, -1), r.passed(k).display, false})
			}
		}
	}
}

// entries are the keys of map r that a name may use.
func (m *envMatcher) entries(r ref) []string {
	keys := slices.Clone(m.l.keys[r.display])
	for _, k := range m.known[r.node.path] {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// canonicalOf is the display path of the key n of table r stores into.
func canonicalOf(r ref, n *node) string {
	if n.alias == nil {
		return r.to(n).display
	}
	if n.alias.sibling {
		return join(r.display, quoteKey(n.alias.to[strings.LastIndexByte(n.alias.to, '.')+1:]))
	}
	return n.alias.to
}

// targets are the keys found, one per canonical key (micro-gw's own name
// before an alias of the same name, such as jwksURL for jwksUrl).
func (m *envMatcher) targets() [][]keyPart {
	slices.SortStableFunc(m.found, func(a, b envFound) int {
		if a.alias != b.alias {
			if a.alias {
				return 1
			}
			return -1
		}
		return 0
	})
	var out [][]keyPart
	seen := map[string]bool{}
	for _, f := range m.found {
		if !seen[f.canonical] {
			seen[f.canonical] = true
			out = append(out, f.parts)
		}
	}
	return out
}

// unknownEnv is the error for a variable that names no key, with the
// nearest name that does or what the name is.
func (l *loader) unknownEnv(name string, known map[string][]string) error {
	if why, ok := wso2Env[name]; ok {
		return fmt.Errorf("%w: %s", ErrUnknownKey, why)
	}
	var names []string
	var maps []string
	l.envNames(l.root, EnvPrefix, known, &names, &maps)
	what := "the variable names no key of the configuration"
	for _, m := range maps {
		prefix, display, _ := strings.Cut(m, " ")
		if strings.HasPrefix(name, prefix) {
			what = "the variable names no entry of " + display + ": a variable sets the keys of an entry that the file writes"
		}
	}
	if near := nearest(name, names); near != "" {
		return fmt.Errorf("%w: %s (did you mean %s?)", ErrUnknownKey, what, near)
	}
	return fmt.Errorf("%w: %s", ErrUnknownKey, what)
}

// envNames lists the variables that name the keys of table r (prefix is
// theirs so far), and in maps "PREFIX display" for each map of tables.
func (l *loader) envNames(r ref, prefix string, known map[string][]string, names, maps *[]string) {
	for _, n := range r.node.children {
		p := prefix + envName(n.name)
		switch n.shape {
		case shapeKey:
			if n.alias == nil && !n.ignored {
				*names = append(*names, p)
			}
		case shapeTable:
			l.envNames(r.to(n), p+"_", known, names, maps)
		case shapeArray:
			c := r.to(n)
			for i := range max(l.counts[c.display], 1) {
				l.envNames(c.at(i), p+"_"+strconv.Itoa(i)+"_", known, names, maps)
			}
		case shapeMap:
			c := r.to(n)
			*maps = append(*maps, p+"_ "+c.display)
			m := envMatcher{l: l, known: known}
			for _, k := range m.entries(c) {
				l.envNames(c.entry(k), p+"_"+envName(k)+"_", known, names, maps)
			}
		}
	}
}

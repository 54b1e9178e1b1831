package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/micro-gw/micro-gw/pkg/internal/ascii"
)

// A key is shown, in errors and by --print-config, as a dotted path in TOML
// syntax with the index of an array table in brackets:
// jwtTokenConfig[1].issuer, apiEndpoints."/petstore/v1".production. -e
// takes the same syntax.

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// quoteKey returns name as a TOML key part: bare when it may be, else a
// basic string.
func quoteKey(name string) string {
	if isBare(name) {
		return name
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range name {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isBare(s string) bool {
	return s != "" && bareKeyBytes.All(s)
}

// bareKeyBytes are those of a bare TOML key.
var bareKeyBytes = ascii.AlnumAnd("_-")

// keyPart is one part of a dotted key: a name and, for an array table, an
// index (-1 when there is none).
type keyPart struct {
	name  string
	index int
}

// parseKey reads a dotted key in TOML syntax (bare parts, "basic" and
// 'literal' quoted parts) with optional [N] indices: the KEY of -e.
func parseKey(s string) ([]keyPart, error) {
	var parts []keyPart
	for {
		s = strings.TrimLeft(s, " \t")
		var p keyPart
		var err error
		switch {
		case s == "":
			return nil, errors.New("a key part is empty")
		case s[0] == '"':
			p.name, s, err = basicString(s)
		case s[0] == '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated ' in the key")
			}
			p.name, s = s[1:1+end], s[2+end:]
		default:
			end := 0
			for end < len(s) && isBare(s[end:end+1]) {
				end++
			}
			if end == 0 {
				return nil, fmt.Errorf("unexpected %q in the key", s[:1])
			}
			p.name, s = s[:end], s[end:]
		}
		if err != nil {
			return nil, err
		}
		p.index = -1
		if strings.HasPrefix(s, "[") {
			end := strings.IndexByte(s, ']')
			n, err := strconv.Atoi(s[1:max(end, 1)])
			if end < 0 || err != nil || n < 0 || strconv.Itoa(n) != s[1:end] {
				return nil, fmt.Errorf("bad index after %s", quoteKey(p.name))
			}
			p.index, s = n, s[end+1:]
		}
		parts = append(parts, p)
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return parts, nil
		}
		if s[0] != '.' {
			return nil, fmt.Errorf("unexpected %q in the key", s[:1])
		}
		s = s[1:]
	}
}

// basicString reads a TOML basic string at the start of s (which starts
// with a quote) and returns its value and the rest of s.
func basicString(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				break
			}
			i++
			switch e := s[i]; e {
			case 'b':
				b.WriteByte('\b')
			case 't':
				b.WriteByte('\t')
			case 'n':
				b.WriteByte('\n')
			case 'f':
				b.WriteByte('\f')
			case 'r':
				b.WriteByte('\r')
			case '"', '\\':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if i+n >= len(s) {
					return "", "", errors.New("bad escape in the key")
				}
				r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", "", errors.New("bad escape in the key")
				}
				b.WriteRune(rune(r))
				i += n
			default:
				return "", "", errors.New("bad escape in the key")
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New(`unterminated " in the key`)
}

// showKey is parts as the display path.
func showKey(parts []keyPart) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(quoteKey(p.name))
		if p.index >= 0 {
			fmt.Fprintf(&b, "[%d]", p.index)
		}
	}
	return b.String()
}

// enclosing returns the display paths that hold display, innermost first:
// jwtTokenConfig[1].issuer -> jwtTokenConfig[1], jwtTokenConfig.
func enclosing(display string) []string {
	parts, err := parseKey(display)
	if err != nil {
		return nil
	}
	var out []string
	for len(parts) > 0 {
		if last := &parts[len(parts)-1]; last.index >= 0 {
			last.index = -1
		} else {
			parts = parts[:len(parts)-1]
		}
		if len(parts) > 0 {
			out = append(out, showKey(parts))
		}
	}
	return out
}

// Viper folds keys to lower case and splits them at dots. A part of a key
// handed to viper is therefore encoded so that neither changes it: an upper
// case letter becomes '~' and the letter in lower case, any byte that is not
// a lower case letter, a digit, '_' or '-' becomes '^' and two hex digits,
// and the empty string "^". mapstructure's MatchName and a decode hook
// (layers.go) decode it again.

func vkey(s string) string {
	if s == "" {
		return "^"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-':
			b.WriteByte(c)
		case c >= 'A' && c <= 'Z':
			b.WriteByte('~')
			b.WriteByte(c - 'A' + 'a')
		default:
			fmt.Fprintf(&b, "^%02x", c)
		}
	}
	return b.String()
}

func unvkey(s string) string {
	if s == "^" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '~' && i+1 < len(s):
			b.WriteByte(s[i+1] - 'a' + 'A')
			i++
		case c == '^' && i+2 < len(s):
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

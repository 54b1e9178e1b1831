package config

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// text is a value given as text, by -e or an MGW_ variable: it is converted
// to the key's kind. expand says whether ${NAME} in it is substituted (it is
// for -e, as in the file; an MGW_ variable is taken as it is).
type text struct {
	s      string
	expand bool
}

// convert checks v, a value of the TOML document or a text, against kind k
// and returns it as a string, int64, bool, float64, time.Duration or a slice
// of one of them. A TOML string holding ${NAME} may stand for any kind,
// since the environment only has text.
func convert(k kind, v any) (any, error) {
	switch x := v.(type) {
	case text:
		s := x.s
		if x.expand {
			var err error
			if s, err = expandEnv(s); err != nil {
				return nil, err
			}
		}
		return parseText(k, s)
	case string:
		if strings.Contains(x, "${") {
			s, err := expandEnv(x)
			if err != nil {
				return nil, err
			}
			if k.scalar == sString && !k.list {
				return s, nil
			}
			return parseText(k, s)
		}
		if k.scalar == sString && !k.list {
			return x, nil
		}
		return nil, typeError(k, v)
	}
	if k.list {
		items, ok := v.([]any)
		if !ok {
			return nil, typeError(k, v)
		}
		return convertList(k, items, true)
	}
	switch k.scalar {
	case sInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case sDuration:
		if n, ok := v.(int64); ok {
			return duration(n, k.unit)
		}
	case sBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case sFloat:
		switch n := v.(type) {
		case int64:
			return float64(n), nil
		case float64:
			return n, nil
		}
	}
	return nil, typeError(k, v)
}

// convertList converts the items of a TOML array to k's scalar.
func convertList(k kind, items []any, expand bool) (any, error) {
	one := kind{scalar: k.scalar, unit: k.unit}
	out := make([]any, 0, len(items))
	for i, item := range items {
		var v any
		var err error
		if s, ok := item.(string); ok && !expand {
			// Already substituted, or from the environment: as written.
			v, err = s, nil
			if one.scalar != sString {
				err = typeError(one, s)
			}
		} else {
			v, err = convert(one, item)
		}
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, v)
	}
	return typedList(k.scalar, out), nil
}

// typedList returns items (all of scalar s) as a slice of their Go type.
func typedList(s scalar, items []any) any {
	switch s {
	case sInt:
		return listOf[int64](items)
	case sBool:
		return listOf[bool](items)
	case sFloat:
		return listOf[float64](items)
	case sDuration:
		return listOf[time.Duration](items)
	}
	return listOf[string](items)
}

func listOf[T any](items []any) []T {
	out := make([]T, len(items))
	for i, v := range items {
		out[i] = v.(T)
	}
	return out
}

// duration is n of unit, refused when negative or too large.
func duration(n int64, unit time.Duration) (time.Duration, error) {
	name := "milliseconds"
	if unit == time.Second {
		name = "seconds"
	}
	if n < 0 || n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("%d %s is out of range", n, name)
	}
	return time.Duration(n) * unit, nil
}

// errNotKind is the error for text that is not of kind k. The text is not
// shown: it may come from a secret in the environment.
func errNotKind(k kind) error {
	return fmt.Errorf("must be %s (the value is not shown: it may be a secret)", k)
}

// parseText converts text to kind k. A list is a TOML array
// (["https://a", "https://b"]) or a bare value, a list of one as the contract
// says (docs/configuration.md): a comma is part of the value, as in a URL's query.
func parseText(k kind, s string) (any, error) {
	s = strings.TrimSpace(s)
	if k.list {
		if strings.HasPrefix(s, "[") {
			items, err := tomlArray(s)
			if err != nil {
				return nil, errNotKind(k)
			}
			return convertList(k, items, false)
		}
		if s == "" {
			return typedList(k.scalar, nil), nil
		}
		v, err := parseText(kind{scalar: k.scalar, unit: k.unit}, s)
		if err != nil {
			return nil, errNotKind(k)
		}
		return typedList(k.scalar, []any{v}), nil
	}
	switch k.scalar {
	case sInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errNotKind(k)
		}
		return n, nil
	case sDuration:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errNotKind(k)
		}
		return duration(n, k.unit)
	case sBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errNotKind(k)
		}
		return b, nil
	case sFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errNotKind(k)
		}
		return f, nil
	}
	return s, nil
}

// tomlArray reads s as a TOML array value.
func tomlArray(s string) ([]any, error) {
	var m map[string]any
	if err := toml.Unmarshal([]byte("v = "+s), &m); err != nil {
		return nil, err
	}
	items, ok := m["v"].([]any)
	if !ok || len(m) != 1 {
		return nil, errors.New("not an array")
	}
	return items, nil
}

// typeError names the kind wanted and the TOML type found, never the value:
// a mistyped value may be a secret.
func typeError(k kind, v any) error {
	return fmt.Errorf("must be %s, not %s", k, tomlType(v))
}

func tomlType(v any) string {
	switch v.(type) {
	case string, text:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	default:
		return "a date or time"
	}
}

// ExpandEnv replaces each ${NAME} in s with the variable's value, as the
// configuration's values are read ("Values from the environment" of
// docs/configuration.md), for values a feature reads itself: a -e form it
// claims, or a ${NAME} compiled into the gateway.
func ExpandEnv(s string) (string, error) { return expandEnv(s) }

// expandEnv replaces each ${NAME} in s with the variable's value; $${ stands
// for a literal ${. An unset variable is an error: silently using "" would
// start a gateway with, say, an empty broker password.
func expandEnv(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ in value")
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid environment variable name %q", name)
		}
		val, ok := os.LookupEnv(name)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", name)
		}
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		ok := r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// passthroughValue is the value of a key handed on as written (a custom
// store's setting): ${NAME} substituted in the strings of a TOML value or of
// -e text, an MGW_ variable's text as it is.
func passthroughValue(v any) (any, error) {
	if x, ok := v.(text); ok {
		if x.expand {
			return expandEnv(x.s)
		}
		return x.s, nil
	}
	return mapStrings(v, expandEnv)
}

// mapStrings returns the TOML value v with f applied to every string in it,
// in arrays and tables too.
func mapStrings(v any, f func(string) (string, error)) (any, error) {
	switch x := v.(type) {
	case string:
		return f(x)
	case []string:
		items := make([]any, len(x))
		for i, s := range x {
			items[i] = s
		}
		return mapStrings(items, f)
	case []any:
		out := make([]any, len(x))
		if err := mapItems(slices.All(x), func(i int, e any) { out[i] = e }, f); err != nil {
			return nil, err
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		if err := mapItems(maps.All(x), func(k string, e any) { out[k] = e }, f); err != nil {
			return nil, err
		}
		return out, nil
	}
	return v, nil
}

// mapItems hands set mapStrings of each item of an array or a table, under
// its index or key.
func mapItems[K comparable](items iter.Seq2[K, any], set func(K, any), f func(string) (string, error)) error {
	for k, item := range items {
		e, err := mapStrings(item, f)
		if err != nil {
			return err
		}
		set(k, e)
	}
	return nil
}

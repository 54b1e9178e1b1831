package config

import (
	"fmt"
	"strings"
)

// unknownKeyError is the error for a key or table called name in table r
// that the schema does not have: ErrUnknownKey, with the WSO2 explanation or
// the nearest known name when there is one.
func unknownKeyError(r ref, name string) error {
	if why := wso2Hint(join(r.node.path, name)); why != "" {
		return fmt.Errorf("%w: %s", ErrUnknownKey, why)
	}
	if near := nearestKnown(r, name); near != "" {
		return fmt.Errorf("%w (did you mean %s?)", ErrUnknownKey, near)
	}
	return ErrUnknownKey
}

// maxSuggestName bounds the names nearestKnown compares: the longest known
// name has 35 bytes.
const maxSuggestName = 64

// nearestKnown returns the key or table of r (shown in full) whose name is
// within a small edit distance of name, ignoring case, or "" when none is
// close: a suggestion must be likely, or it misleads.
func nearestKnown(r ref, name string) string {
	if len(name) > maxSuggestName {
		return "" // no known name is that long, and the distance is quadratic
	}
	names := make([]string, 0, len(r.node.children))
	for _, n := range r.node.children {
		if n.alias == nil && !n.ignored { // suggest micro-gw's own names
			names = append(names, n.name)
		}
	}
	if best := nearest(name, names); best != "" {
		return join(r.display, quoteKey(best))
	}
	return ""
}

// nearest returns the candidate within max(1, len(name)/4) edits of name,
// case ignored, the closest first and then the first by order; or "".
func nearest(name string, candidates []string) string {
	best, bestDist := "", max(1, len(name)/4)+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

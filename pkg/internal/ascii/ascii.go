// Package ascii holds the byte classes of the text formats micro-gw reads
// (base64 and base64url, RFC 7235 token68, RFC 9110 field names, bare TOML
// keys), so that each check is one table look-up a byte, written once.
package ascii

// Set is a set of bytes.
type Set [256]bool

// AlnumAnd is the set of ASCII letters and digits and the bytes of extra.
func AlnumAnd(extra string) *Set {
	var s Set
	for c := '0'; c <= '9'; c++ {
		s[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		s[c], s[c-'a'+'A'] = true, true
	}
	for i := 0; i < len(extra); i++ {
		s[extra[i]] = true
	}
	return &s
}

// All reports whether every byte of str is in s; it is true of "", which
// the callers that refuse an empty string check first.
func (s *Set) All(str string) bool {
	for i := 0; i < len(str); i++ {
		if !s[str[i]] {
			return false
		}
	}
	return true
}

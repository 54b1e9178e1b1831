package ascii

import "testing"

func TestAlnumAnd(t *testing.T) {
	s := AlnumAnd("-_.")
	for c := 0; c < 256; c++ {
		want := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if got := s.All(string([]byte{byte(c)})); got != want {
			t.Errorf("byte %#x: All %v, want %v", c, got, want)
		}
	}
	for _, tc := range []struct {
		in   string
		want bool
	}{{"", true}, {"eyJ.abc-_9", true}, {"eyJ.ab c", false}, {"a\nb", false}, {"Zz09", true}} {
		if got := s.All(tc.in); got != tc.want {
			t.Errorf("All(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

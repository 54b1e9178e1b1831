package statuslist

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// The examples of the draft (section 4.1): the same statuses written
// with 1 and 2 bits, and their lst.
func TestDecodeListDraftExamples(t *testing.T) {
	for _, tc := range []struct {
		bits     int
		lst      string
		statuses []uint8
	}{
		{1, "eNrbuRgAAhcBXQ", []uint8{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}},
		{2, "eNo76fITAAPfAgc", []uint8{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}},
	} {
		l, err := DecodeList(tc.bits, tc.lst)
		if err != nil {
			t.Fatalf("%d bits: %v", tc.bits, err)
		}
		for i, want := range tc.statuses {
			if got, ok := l.Status(uint64(i)); !ok || got != want {
				t.Errorf("%d bits, idx %d: %d %v, want %d", tc.bits, i, got, ok, want)
			}
		}
		if _, ok := l.Status(uint64(l.Len())); ok {
			t.Errorf("%d bits: idx %d past the end answered", tc.bits, l.Len())
		}
	}
}

func TestListSetEncodeRoundTrip(t *testing.T) {
	for _, bits := range []int{1, 2, 4, 8} {
		l, err := NewList(bits, 1000)
		if err != nil {
			t.Fatal(err)
		}
		max := uint8(1)<<bits - 1
		for i := uint64(0); i < 1000; i += 7 {
			if !l.Set(i, uint8(i)&max) {
				t.Fatalf("%d bits: Set(%d) refused", bits, i)
			}
		}
		if bits < 8 && l.Set(3, max+1) {
			t.Errorf("%d bits: a status wider than the entry was set", bits)
		}
		back, err := DecodeList(bits, l.Encode())
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(0); i < 1000; i++ {
			want := uint8(0)
			if i%7 == 0 {
				want = uint8(i) & max
			}
			if got, _ := back.Status(i); got != want {
				t.Fatalf("%d bits, idx %d: %d, want %d", bits, i, got, want)
			}
		}
	}
}

func TestDecodeListRefusals(t *testing.T) {
	// The bound, at a size a test can afford (DecodeList's is MaxListBytes).
	const limit = 64 << 10
	exact := &List{bits: 8, data: make([]byte, limit)}
	if _, err := decodeList(8, exact.Encode(), limit); err != nil {
		t.Errorf("a list of exactly the bound is refused: %v", err)
	}
	bomb := (&List{bits: 8, data: make([]byte, limit+1)}).Encode() // zeros compress to almost nothing
	if _, err := decodeList(8, bomb, limit); !errors.Is(err, ErrInvalid) {
		t.Errorf("a list past the bound: %v", err)
	}
	for _, tc := range []struct {
		bits int
		lst  string
	}{
		{3, "eNrbuRgAAhcBXQ"},
		{1, "eNrbuRgAAhcBXQ=="},
		{1, "not base64!"},
		{1, "AAAA"},
		{1, "eNrbuRgAAhcBXq"},
		{1, (&List{bits: 1}).Encode()},
	} {
		if _, err := DecodeList(tc.bits, tc.lst); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeList(%d, %.20s...) = %v, want ErrInvalid", tc.bits, tc.lst, err)
		}
	}
}

func claimsOf(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadTokenAndReference(t *testing.T) {
	tok, err := ReadToken(claimsOf(t, `{"sub":"https://idp/statuslists/1","iat":1686920170,"exp":2291720170,"ttl":43200,
		"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`))
	if err != nil || tok.Subject != "https://idp/statuslists/1" || tok.TTL.Hours() != 12 || tok.ExpiresAt.Unix() != 2291720170 || tok.List.Len() != 16 {
		t.Fatalf("ReadToken = %+v, %v", tok, err)
	}
	for _, bad := range []string{
		`{"iat":1,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","iat":1,"ttl":0,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","iat":1,"ttl":-3,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","iat":1,"exp":"soon","status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","iat":1,"status_list":{"bits":3,"lst":"eNrbuRgAAhcBXQ"}}`,
		`{"sub":"u","iat":1,"status_list":{"bits":1}}`,
		`{"sub":"u","iat":1,"status_list":"eNrbuRgAAhcBXQ"}`,
	} {
		if _, err := ReadToken(claimsOf(t, bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadToken(%s) = %v, want ErrInvalid", bad, err)
		}
	}

	ref, ok, err := ReadReference(claimsOf(t, `{"status":{"status_list":{"idx":12,"uri":"https://idp/statuslists/1"}}}`))
	if err != nil || !ok || ref != (Reference{12, "https://idp/statuslists/1"}) {
		t.Errorf("ReadReference = %+v %v %v", ref, ok, err)
	}
	for _, none := range []string{`{}`, `{"status":{"other_mechanism":{}}}`} {
		if _, ok, err := ReadReference(claimsOf(t, none)); ok || err != nil {
			t.Errorf("ReadReference(%s) = %v %v, want no reference", none, ok, err)
		}
	}
	for _, bad := range []string{
		`{"status":"revoked"}`,
		`{"status":{"status_list":[]}}`,
		`{"status":{"status_list":{"idx":-1,"uri":"https://idp/l"}}}`,
		`{"status":{"status_list":{"idx":1.5,"uri":"https://idp/l"}}}`,
		`{"status":{"status_list":{"uri":"https://idp/l"}}}`,
		`{"status":{"status_list":{"idx":1}}}`,
		`{"status":{"status_list":{"idx":1,"uri":""}}}`,
		`{"status":{"status_list":{"idx":1,"uri":7}}}`,
	} {
		if _, _, err := ReadReference(claimsOf(t, bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadReference(%s) = %v, want ErrInvalid", bad, err)
		}
	}
}

func decodeJSON(s string, dst *map[string]any) error {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	return d.Decode(dst)
}

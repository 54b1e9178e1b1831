package passwordhash

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestEachKindVerifies(t *testing.T) {
	bc, err := GenerateBcrypt([]byte("s3cret"), MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := GenerateArgon2id([]byte("s3cret"), Argon2Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("s3cret"))
	for _, tc := range []struct {
		encoded string
		kind    Kind
	}{
		{bc, Bcrypt},
		{strings.Replace(bc, "$2a$", "$2b$", 1), Bcrypt},
		{a2, Argon2id},
		{"@sha256:{" + hex.EncodeToString(sum[:]) + "}", SHA256},
		{"@sha256:{" + strings.ToUpper(hex.EncodeToString(sum[:])) + "}", SHA256},
	} {
		h, err := Parse(tc.encoded)
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.kind, err)
		}
		if h.Kind() != tc.kind {
			t.Errorf("kind %s, want %s", h.Kind(), tc.kind)
		}
		if !h.Verify([]byte("s3cret")) {
			t.Errorf("%s: the right password is refused", tc.kind)
		}
		for _, wrong := range []string{"", "s3cre", "s3cret ", "S3cret", strings.Repeat("x", MaxPasswordLength+1)} {
			if h.Verify([]byte(wrong)) {
				t.Errorf("%s: %q accepted", tc.kind, wrong)
			}
		}
		d, err := h.Decoy()
		if err != nil || d.Kind() != h.Kind() || d.Params() != h.Params() || d.Verify([]byte("s3cret")) {
			t.Errorf("%s: decoy %v %v (params %q, want %q)", tc.kind, d, err, d.Params(), h.Params())
		}
	}
	if !strings.HasPrefix(a2, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("argon2id encoding %q", a2)
	}
}

// TestBoundsAndFaults: costs above the bounds and malformed hashes are
// refused, and no error quotes the hash.
func TestBoundsAndFaults(t *testing.T) {
	sum := hex.EncodeToString(make([]byte, 32))
	for _, tc := range []struct{ encoded, want string }{
		{"$2b$15$" + strings.Repeat("a", 53), "cost 15"},
		{"$2b$10$short", "well-formed bcrypt"},
		{"$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "m=1048576"},
		{"$argon2id$v=19$m=65536,t=100,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "t=100"},
		{"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "well-formed argon2id"},
		{"$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "well-formed argon2id"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + strings.Repeat("A", 43), "well-formed argon2id"},
		{"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), "another variant"},
		{"@sha256:" + sum, "well-formed @sha256"},
		{"@sha256:{" + sum[:62] + "}", "well-formed @sha256"},
		{"plain-text-password", "not a password hash"},
		{"", "not a password hash"},
	} {
		_, err := Parse(tc.encoded)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%.30q) = %v, want an error saying %q", tc.encoded, err, tc.want)
			continue
		}
		if len(tc.encoded) > 20 && strings.Contains(err.Error(), tc.encoded[7:]) {
			t.Errorf("the error quotes the hash: %v", err)
		}
	}
	if _, err := GenerateBcrypt([]byte(strings.Repeat("x", 73)), MinBcryptCost); err == nil {
		t.Error("a bcrypt hash of more than 72 bytes was made")
	}
	if _, err := GenerateArgon2id([]byte("p"), Argon2Params{Memory: MaxArgon2Memory + 1, Time: 1, Threads: 1}); err == nil {
		t.Error("an argon2id hash above the memory bound was made")
	}
}

// FuzzParse: any string is refused or read into a hash that verifies
// without a panic, within the bounds.
func FuzzParse(f *testing.F) {
	f.Add("$2b$04$" + strings.Repeat("a", 53))
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo")
	f.Add("@sha256:{" + strings.Repeat("ab", 32) + "}")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, encoded string) {
		h, err := Parse(encoded)
		if err != nil {
			if strings.TrimSpace(encoded) != "" && len(encoded) > 24 && strings.Contains(err.Error(), encoded) {
				t.Fatalf("the error quotes the input: %v", err)
			}
			return
		}
		switch h.Kind() {
		case Argon2id:
			if h.memory > MaxArgon2Memory || h.time > MaxArgon2Time || h.threads > MaxArgon2Threads || h.threads == 0 {
				t.Fatalf("accepted %s", h.Params())
			}
		case Bcrypt:
			if h.bcryptCost > MaxBcryptCost {
				t.Fatalf("accepted %s", h.Params())
			}
		}
		h.Verify([]byte("password"))
	})
}

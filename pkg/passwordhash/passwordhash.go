// Package passwordhash reads and writes the password hashes of basic-auth
// users ([b7a.users.NAME] password, docs/authentication.md): bcrypt
// ($2a$, $2b$, $2y$), argon2id in the PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$key), and the original WSO2
// gateway's unsalted @sha256:{hex}, accepted for migrated confs.
//
// Every hash's cost is bounded when it is read (MaxBcryptCost, MaxArgon2...),
// so that one password check, which an unauthenticated client can cause,
// costs a bounded amount of CPU and memory; errors say what is wrong with a
// hash without quoting it.
package passwordhash

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Kind is the algorithm of a hash.
type Kind string

const (
	Bcrypt   Kind = "bcrypt"
	Argon2id Kind = "argon2id"
	// SHA256 is the original's @sha256:{hex}: unsalted, one SHA-256, which
	// a GPU guesses at billions a second. Accepted with a warning.
	SHA256 Kind = "sha256"
)

// Bounds on what one check may cost. bcrypt's cost is a power of two: 14
// takes about a second on a server core, past which no gateway should make
// its clients wait. argon2id's memory is taken on every check: 64 MiB at
// most, OWASP's recommendations are 19–46 MiB.
const (
	MinBcryptCost = bcrypt.MinCost
	MaxBcryptCost = 14
	// MaxArgon2Memory is in KiB, as the m parameter.
	MaxArgon2Memory  = 64 << 10
	MaxArgon2Time    = 16
	MaxArgon2Threads = 16
	// MaxPasswordLength bounds a password offered for checking, in bytes;
	// a longer one is refused before any hashing (bcrypt reads 72 bytes at
	// most anyway).
	MaxPasswordLength = 1024
)

// Defaults of Generate: bcrypt's cost 10 (x/crypto's default), argon2id as
// OWASP's first recommendation (19 MiB, two passes, one thread).
const (
	DefaultBcryptCost   = bcrypt.DefaultCost
	DefaultArgon2Memory = 19 << 10
	DefaultArgon2Time   = 2
	DefaultArgon2Thread = 1
	argon2SaltLen       = 16
	argon2KeyLen        = 32
)

// Hash is a parsed password hash.
type Hash struct {
	kind    Kind
	encoded string // bcrypt: the hash as written
	// argon2id
	memory, time uint32
	threads      uint8
	salt, key    []byte
	// sha256
	sum []byte
	// bcryptCost is bcrypt's cost.
	bcryptCost int
}

// Kind is the hash's algorithm.
func (h *Hash) Kind() Kind { return h.kind }

// Params describes the hash's cost, for logs: "cost=10", "m=19456,t=2,p=1", "".
func (h *Hash) Params() string {
	switch h.kind {
	case Bcrypt:
		return "cost=" + strconv.Itoa(h.bcryptCost)
	case Argon2id:
		return fmt.Sprintf("m=%d,t=%d,p=%d", h.memory, h.time, h.threads)
	}
	return ""
}

var errHash = errors.New("is not a password hash: write a bcrypt hash ($2b$...), an argon2id hash ($argon2id$v=19$m=...,t=...,p=...$salt$key) or @sha256:{hex}; micro-gw hash-password prints one")

// Parse reads an encoded hash. Its errors describe the fault without the
// hash, and refuse costs above the bounds of this package.
func Parse(encoded string) (*Hash, error) {
	switch {
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return parseBcrypt(encoded)
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2id(encoded)
	case strings.HasPrefix(encoded, "$argon2"):
		return nil, errors.New("is an argon2 hash of another variant: only argon2id is accepted")
	case strings.HasPrefix(encoded, "@sha256:"):
		return parseSHA256(encoded)
	}
	return nil, errHash
}

func parseBcrypt(encoded string) (*Hash, error) {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil || len(encoded) != 60 {
		return nil, errors.New("is not a well-formed bcrypt hash (60 characters: $2b$NN$ and 53 of salt and hash)")
	}
	if cost > MaxBcryptCost {
		return nil, fmt.Errorf("is a bcrypt hash of cost %d; at most %d is accepted, so that a check of a wrong password costs at most about a second", cost, MaxBcryptCost)
	}
	return &Hash{kind: Bcrypt, encoded: encoded, bcryptCost: cost}, nil
}

var b64 = base64.RawStdEncoding.Strict()

func parseArgon2id(encoded string) (*Hash, error) {
	bad := errors.New("is not a well-formed argon2id hash ($argon2id$v=19$m=M,t=T,p=P$salt$key, salt and key in unpadded base64)")
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, bad
	}
	h := &Hash{kind: Argon2id}
	var seen int
	for _, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || n == 0 {
			return nil, bad
		}
		switch name {
		case "m":
			h.memory, seen = uint32(n), seen|1
		case "t":
			h.time, seen = uint32(n), seen|2
		case "p":
			if n > 255 {
				return nil, bad
			}
			h.threads, seen = uint8(n), seen|4
		default:
			return nil, bad
		}
	}
	var err1, err2 error
	h.salt, err1 = b64.DecodeString(parts[4])
	h.key, err2 = b64.DecodeString(parts[5])
	if seen != 7 || err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.key) < 16 || len(h.key) > 64 {
		return nil, bad
	}
	if h.memory > MaxArgon2Memory || h.time > MaxArgon2Time || h.threads > MaxArgon2Threads {
		return nil, fmt.Errorf("is an argon2id hash of m=%d,t=%d,p=%d; at most m=%d (KiB), t=%d and p=%d are accepted, so that a check of a wrong password costs a bounded time and memory",
			h.memory, h.time, h.threads, MaxArgon2Memory, MaxArgon2Time, MaxArgon2Threads)
	}
	if h.memory < 8*uint32(h.threads) {
		return nil, bad
	}
	return h, nil
}

func parseSHA256(encoded string) (*Hash, error) {
	hexSum, ok := strings.CutPrefix(encoded, "@sha256:")
	if ok {
		hexSum, ok = strings.CutPrefix(hexSum, "{")
	}
	if ok {
		hexSum, ok = strings.CutSuffix(hexSum, "}")
	}
	sum, err := hex.DecodeString(hexSum)
	if !ok || err != nil || len(sum) != sha256.Size {
		return nil, errors.New("is not a well-formed @sha256:{hex} hash (64 hex digits between the braces)")
	}
	return &Hash{kind: SHA256, sum: sum}, nil
}

// Verify reports whether password matches. The derived key is compared in
// constant time; a password longer than MaxPasswordLength is refused
// without hashing.
func (h *Hash) Verify(password []byte) bool {
	if len(password) > MaxPasswordLength {
		return false
	}
	switch h.kind {
	case Bcrypt:
		return bcrypt.CompareHashAndPassword([]byte(h.encoded), password) == nil
	case Argon2id:
		key := argon2.IDKey(password, h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
		return subtle.ConstantTimeCompare(key, h.key) == 1
	case SHA256:
		sum := sha256.Sum256(password)
		return subtle.ConstantTimeCompare(sum[:], h.sum) == 1
	}
	return false
}

// Decoy returns a hash of the same kind and cost as h for a random
// password: checking a password of an unknown user against it costs what
// checking one of a known user does, so that the time of a refusal does not
// say whether the user exists.
func (h *Hash) Decoy() (*Hash, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	var encoded string
	var err error
	switch h.kind {
	case Bcrypt:
		encoded, err = GenerateBcrypt(secret, h.bcryptCost)
	case Argon2id:
		encoded, err = GenerateArgon2id(secret, Argon2Params{Memory: h.memory, Time: h.time, Threads: h.threads})
	default:
		sum := sha256.Sum256(secret)
		encoded = "@sha256:{" + hex.EncodeToString(sum[:]) + "}"
	}
	if err != nil {
		return nil, err
	}
	return Parse(encoded)
}

// GenerateBcrypt returns the bcrypt hash of password at cost.
func GenerateBcrypt(password []byte, cost int) (string, error) {
	if cost < MinBcryptCost || cost > MaxBcryptCost {
		return "", fmt.Errorf("bcrypt cost %d is outside %d..%d", cost, MinBcryptCost, MaxBcryptCost)
	}
	if len(password) > 72 {
		return "", errors.New("bcrypt reads at most 72 bytes of a password; use argon2id for a longer one")
	}
	out, err := bcrypt.GenerateFromPassword(password, cost)
	return string(out), err
}

// Argon2Params are argon2id's costs: Memory in KiB, Time passes, Threads.
type Argon2Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// DefaultArgon2Params are OWASP's first recommendation for argon2id.
var DefaultArgon2Params = Argon2Params{Memory: DefaultArgon2Memory, Time: DefaultArgon2Time, Threads: DefaultArgon2Thread}

// GenerateArgon2id returns the argon2id hash of password, with a fresh
// 16-byte salt and a 32-byte key, in the PHC string format.
func GenerateArgon2id(password []byte, p Argon2Params) (string, error) {
	switch {
	case p.Memory == 0 || p.Memory > MaxArgon2Memory || p.Memory < 8*uint32(p.Threads):
		return "", fmt.Errorf("argon2id memory %d KiB is outside %d..%d", p.Memory, 8*uint32(max(p.Threads, 1)), MaxArgon2Memory)
	case p.Time == 0 || p.Time > MaxArgon2Time:
		return "", fmt.Errorf("argon2id time %d is outside 1..%d", p.Time, MaxArgon2Time)
	case p.Threads == 0 || p.Threads > MaxArgon2Threads:
		return "", fmt.Errorf("argon2id parallelism %d is outside 1..%d", p.Threads, MaxArgon2Threads)
	case len(password) > MaxPasswordLength:
		return "", fmt.Errorf("a password is at most %d bytes", MaxPasswordLength)
	}
	salt := make([]byte, argon2SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, argon2KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

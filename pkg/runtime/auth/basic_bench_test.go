//go:build unix

package auth

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/pkg/passwordhash"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// benchUsers is Users with one user, alice, of the hash kind given, with
// micro-gw hash-password's default costs.
func benchUsers(b *testing.B, kind passwordhash.Kind, slots int) *Users {
	b.Helper()
	var h string
	var err error
	switch kind {
	case passwordhash.Bcrypt:
		h, err = passwordhash.GenerateBcrypt([]byte("right"), passwordhash.DefaultBcryptCost)
	case passwordhash.Argon2id:
		h, err = passwordhash.GenerateArgon2id([]byte("right"), passwordhash.DefaultArgon2Params)
	default:
		h = "@sha256:{b0d1b8c4fbb4e4a5a1ce2e6b7d1b6c1a3c2e7b46f2e6b2f8f1e8a3a0b6c4d2e1}"
	}
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	cfg.B7A.Users = map[string]config.BasicUser{"alice": {Password: h}}
	u, err := NewUsers(cfg, UsersOptions{Logger: quietLogger(), Slots: slots, Wait: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// BenchmarkBasicFailedAttempt is the cost of one wrong password (and of one
// unknown user, which is checked against the decoy): the work a guesser
// buys with one request. docs/authentication.md gives the figures.
func BenchmarkBasicFailedAttempt(b *testing.B) {
	for _, kind := range []passwordhash.Kind{passwordhash.Bcrypt, passwordhash.Argon2id, passwordhash.SHA256} {
		u := benchUsers(b, kind, runtime.GOMAXPROCS(0))
		ctx := context.Background()
		for _, user := range []string{"alice", "unknown"} {
			b.Run(string(kind)+"/"+user, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, e := u.Authenticate(ctx, user, "wrong"); e != errBadUser {
						b.Fatal(e)
					}
				}
			})
		}
	}
}

// BenchmarkBasicGuessers runs 32 guessers per CPU at once against the
// default bound, half the cores' worth of hashing slots, and reports the
// CPU the process used per second of wall time ("cores"): however many
// guessers there are, it stays near the slots, and the rest of the machine
// is left to the requests that need no hash.
func BenchmarkBasicGuessers(b *testing.B) {
	for _, kind := range []passwordhash.Kind{passwordhash.Bcrypt, passwordhash.Argon2id} {
		b.Run(string(kind), func(b *testing.B) {
			u := benchUsers(b, kind, 0)
			ctx := context.Background()
			var ru0, ru1 syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			start := time.Now()
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, e := u.Authenticate(ctx, "alice", "guess"); e != errBadUser {
						b.Error(e)
						return
					}
				}
			})
			wall := time.Since(start)
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := time.Duration(syscall.TimevalToNsec(ru1.Utime) - syscall.TimevalToNsec(ru0.Utime) +
				syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Stime))
			b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
			b.ReportMetric(float64(cap(u.slots)), "slots")
			b.ReportMetric(float64(b.N)/wall.Seconds(), "guesses/s")
		})
	}
}

// BenchmarkBasicKnownPassword is a user's request after the first: the
// password that matched is remembered, and no hash runs.
func BenchmarkBasicKnownPassword(b *testing.B) {
	u := benchUsers(b, passwordhash.Bcrypt, 1)
	ctx := context.Background()
	if _, e := u.Authenticate(ctx, "alice", "right"); e != nil {
		b.Fatal(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, e := u.Authenticate(ctx, "alice", "right"); e != nil {
			b.Fatal(e)
		}
	}
}

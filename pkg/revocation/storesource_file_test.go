package revocation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
)

func TestParseRevokedTokensFile(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := "\uFEFF# revoked tokens\n" +
		"plain\n" +
		"with-ttl 3600\n" +
		"  indented\t60   # trailing comment\n" +
		"\n" +
		"   # indented comment\n" +
		"zero-ttl 0\n" +
		"crlf 10\r\n" +
		"bad-ttl ten\n" +
		"negative -5\n" +
		"too many fields\n" +
		"dup 10\n" +
		"dup 20\n" +
		"dup-forever 10\n" +
		"dup-forever\n" +
		"huge 99999999999999999999\n" +
		"big 9300000000\n" +
		"jti#fragment 5\n" +
		"last-without-newline 1"
	entries, bad, err := ParseRevokedTokensFile(strings.NewReader(in), "revoked_tokens.txt", base)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{JTI: "plain"},
		{JTI: "with-ttl", ExpiresAt: base.Add(time.Hour)},
		{JTI: "indented", ExpiresAt: base.Add(time.Minute)},
		{JTI: "zero-ttl"},
		{JTI: "crlf", ExpiresAt: base.Add(10 * time.Second)},
		{JTI: "dup", ExpiresAt: base.Add(20 * time.Second)},
		{JTI: "dup-forever"},
		{JTI: "jti"},
		{JTI: "last-without-newline", ExpiresAt: base.Add(time.Second)},
	}
	if len(entries) != len(want) {
		t.Fatalf("entries = %+v\nwant %+v", entries, want)
	}
	for i := range want {
		if entries[i].JTI != want[i].JTI || !entries[i].ExpiresAt.Equal(want[i].ExpiresAt) {
			t.Errorf("entry %d = %+v, want %+v", i, entries[i], want[i])
		}
	}
	wantBad := []string{
		`revoked_tokens.txt:9: ttl "ten" of "bad-ttl" is not a whole number of seconds`,
		`revoked_tokens.txt:10: ttl "-5" of "negative" is not a whole number of seconds`,
		`revoked_tokens.txt:11: want a jti and an optional ttl, found 3 fields`,
		`revoked_tokens.txt:16: ttl "99999999999999999999" of "huge" is not a whole number of seconds`,
		`revoked_tokens.txt:17: ttl "9300000000" of "big" is too large`,
	}
	if len(bad) != len(wantBad) {
		t.Fatalf("bad = %v\nwant %v", bad, wantBad)
	}
	for i, w := range wantBad {
		var le *LineError
		if !errors.As(bad[i], &le) || le.File != "revoked_tokens.txt" {
			t.Errorf("bad[%d] = %#v, want a *LineError", i, bad[i])
		}
		if !strings.HasPrefix(bad[i].Error(), w) {
			t.Errorf("bad[%d] = %q, want it to start with %q", i, bad[i], w)
		}
	}
}

func TestParseRevokedTokensFileLongLine(t *testing.T) {
	in := "before\n" + strings.Repeat("x", 3*maxRevokedTokensLine) + " 5\nafter\n" + strings.Repeat("y", maxRevokedTokensLine)
	entries, bad, err := ParseRevokedTokensFile(strings.NewReader(in), "f", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].JTI != "before" || entries[1].JTI != "after" || len(entries[2].JTI) != maxRevokedTokensLine {
		t.Errorf("entries = %d: %.40v", len(entries), entries)
	}
	if len(bad) != 1 || !strings.HasPrefix(bad[0].Error(), "f:2: line longer than") {
		t.Errorf("bad = %v, want one too-long line 2", bad)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		r.n--
		return copy(p, "a\n"), nil
	}
	return 0, errors.New("disk on fire")
}

func TestParseRevokedTokensFileReadError(t *testing.T) {
	_, _, err := ParseRevokedTokensFile(&failingReader{n: 2}, "f", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v, want the read error", err)
	}
}

func TestReadRevokedTokensFileUsesModTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoked.txt")
	if err := os.WriteFile(path, []byte("a 60\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	entries, bad, err := ReadRevokedTokensFile(path)
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	if len(entries) != 2 || !entries[0].ExpiresAt.Equal(mtime.Add(time.Minute)) || !entries[1].ExpiresAt.IsZero() {
		t.Errorf("entries = %+v", entries)
	}
	if _, _, err := ReadRevokedTokensFile(filepath.Dir(path)); !errors.Is(err, errNotRegularFile) {
		t.Errorf("a folder: err = %v", err)
	}
	if _, _, err := ReadRevokedTokensFile(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: err = %v", err)
	}
}

func FuzzParseRevokedTokensFile(f *testing.F) {
	for _, s := range []string{
		"a\nb 10\n# c\n", "x 1 # y\r\n", "\uFEFFa", "a b c\n", "#\n#\n", "a 18446744073709551615", "dup 1\ndup\n",
		strings.Repeat("z", maxRevokedTokensLine+1),
	} {
		f.Add(s)
	}
	base := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, in string) {
		entries, bad, err := ParseRevokedTokensFile(strings.NewReader(in), "f", base)
		if err != nil {
			t.Fatalf("a strings.Reader cannot fail, got %v", err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if e.JTI == "" || strings.ContainsFunc(e.JTI, unicode.IsSpace) || strings.Contains(e.JTI, "#") {
				t.Fatalf("bad jti %q", e.JTI)
			}
			if seen[e.JTI] {
				t.Fatalf("jti %q listed twice", e.JTI)
			}
			seen[e.JTI] = true
			if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(base) {
				t.Fatalf("expiry %v of %q is not after the base", e.ExpiresAt, e.JTI)
			}
		}
		lines := strings.Count(in, "\n") + 1
		for _, b := range bad {
			var le *LineError
			if !errors.As(b, &le) || le.Line < 1 || le.Line > lines {
				t.Fatalf("bad line error %v (of %d lines)", b, lines)
			}
		}
	})
}

// watchCalls runs watchFile on path, polling every poll, and counts its
// calls. It returns once the watch is in place.
func watchCalls(t *testing.T, path string, poll time.Duration) *atomic.Int32 {
	t.Helper()
	var calls atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- watchFile(ctx, path, poll, func() { calls.Add(1) }, func() { close(started) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("WatchFile returned %v, want context.Canceled", err)
		}
	})
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("watchFile returned %v", err)
	}
	// The call made once the watch is in place, for changes made before.
	storeEventually(t, "the first call", func() bool { return calls.Load() >= 1 })
	calls.Add(-1)
	return &calls
}

// An hour between polls: these changes must be seen through notifications.
const noPoll = time.Hour

func TestWatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "revoked.txt")
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := watchCalls(t, path, noPoll)

	// An in-place write (the size changes, so it shows whatever the mtime
	// granularity).
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("b\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	storeEventually(t, "an in-place write is noticed", func() bool { return calls.Load() == 1 })

	// An editor's save: write a new file, rename it over the old one.
	tmp := filepath.Join(dir, ".revoked.txt.swp")
	if err := os.WriteFile(tmp, []byte("c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "a rename over the file is noticed", func() bool { return calls.Load() == 2 })

	// Removed, then written again.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "a removal is noticed", func() bool { return calls.Load() == 3 })
	if err := os.WriteFile(path, []byte("d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "a new file is noticed", func() bool { return calls.Load() == 4 })
}

func TestWatchFileFollowsSymlinkSwap(t *testing.T) {
	// How Kubernetes updates a mounted ConfigMap: the file is a symlink into
	// ..data, itself a symlink that is swapped to a new folder.
	dir := t.TempDir()
	for _, v := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, v, "revoked.txt"), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "revoked.txt")
	if err := os.Symlink(filepath.Join("..data", "revoked.txt"), path); err != nil {
		t.Fatal(err)
	}
	calls := watchCalls(t, path, noPoll)
	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "the swap is noticed", func() bool { return calls.Load() == 1 })
}

func TestWatchFileIgnoresNeighbours(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "revoked.txt")
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := watchCalls(t, path, noPoll)
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, "other.txt"), []byte(strings.Repeat("x", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Then a real change, which must be the only one reported: once it is
	// seen, the earlier events have been handled.
	if err := os.WriteFile(path, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "the real change is noticed", func() bool { return calls.Load() >= 1 })
	if got := calls.Load(); got != 1 {
		t.Errorf("%d calls, want 1: changes to other files were reported", got)
	}
}

func TestWatchFilePollsWithoutFolder(t *testing.T) {
	// No folder to watch when it starts: the poll alone notices the file
	// appearing.
	dir := filepath.Join(t.TempDir(), "later")
	path := filepath.Join(dir, "revoked.txt")
	calls := watchCalls(t, path, 50*time.Millisecond)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeEventually(t, "the poll notices the new file", func() bool { return calls.Load() >= 1 })
}

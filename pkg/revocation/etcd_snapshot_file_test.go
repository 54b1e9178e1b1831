package revocation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeTestSnapshot writes a snapshot of base (key -> value) at revision rev,
// then one journal record per element of journal, and returns the file's
// bytes.
func writeTestSnapshot(t testing.TB, path string, values bool, rev int64, base [][2]string, journal ...[]etcdSnapEvent) []byte {
	t.Helper()
	w, err := createEtcdSnapshot(path, 0xc1, rev, "jti/", values)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range base {
		if err := w.put([]byte(kv[0]), []byte(kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	for i, evs := range journal {
		if err := w.journal(rev+int64(i)+1, evs); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// snapEvents lists what s holds, in order, as "put key=value" and "del key".
func snapEvents(s *etcdSnapshot) []string {
	var out []string
	s.each(func(ev etcdSnapEvent) {
		if ev.op == etcdSnapPut {
			out = append(out, fmt.Sprintf("put %s=%s", ev.key, ev.value))
		} else {
			out = append(out, fmt.Sprintf("del %s", ev.key))
		}
	})
	return out
}

func TestEtcdSnapshotRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.snap")
	data := writeTestSnapshot(t, path, true, 100, [][2]string{{"a", "1"}, {"b", ""}, {"", "empty key"}},
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("c"), value: []byte("3")}, {op: etcdSnapDelete, key: []byte("a")}},
		nil, // a progress record: no changes
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("a"), value: []byte("again")}})
	s, err := readEtcdSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.cluster != 0xc1 || s.prefix != "jti/" || !s.values || s.keys != 3 || s.records != 3 || s.revision != 103 || s.torn {
		t.Fatalf("read %+v", s)
	}
	want := []string{"put a=1", "put b=", "put =empty key", "put c=3", "del a", "put a=again"}
	if got := snapEvents(s); !slices.Equal(got, want) {
		t.Fatalf("events\n%q\nwant\n%q", got, want)
	}
	// Without values, none is written or read.
	data = writeTestSnapshot(t, path, false, 7, [][2]string{{"a", "ignored"}},
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("b"), value: []byte("ignored")}})
	if s, err = readEtcdSnapshot(data); err != nil {
		t.Fatal(err)
	}
	if got := snapEvents(s); !slices.Equal(got, []string{"put a=", "put b="}) || s.revision != 8 {
		t.Fatalf("events %q at %d", got, s.revision)
	}
}

// TestEtcdSnapshotTornJournal cuts the file at every byte of its last
// journal record: the reader keeps the records before it, at their
// revision, and never fails.
func TestEtcdSnapshotTornJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.snap")
	full := writeTestSnapshot(t, path, false, 10, [][2]string{{"a", ""}},
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("b")}},
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("c")}, {op: etcdSnapDelete, key: []byte("a")}})
	whole, err := readEtcdSnapshot(full)
	if err != nil {
		t.Fatal(err)
	}
	lastStart := 0
	for cut := len(full) - 1; cut > 0; cut-- {
		if s, err := readEtcdSnapshot(full[:cut]); err == nil && s.records == 1 && !s.torn {
			lastStart = cut
			break
		}
	}
	if lastStart == 0 {
		t.Fatal("the end of the first record was not found")
	}
	for cut := lastStart + 1; cut < len(full); cut++ {
		s, err := readEtcdSnapshot(full[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if s.records != 1 || s.revision != 11 || !s.torn {
			t.Fatalf("cut at %d: %d records at revision %d, torn %v", cut, s.records, s.revision, s.torn)
		}
		if got := snapEvents(s); !slices.Equal(got, []string{"put a=", "put b="}) {
			t.Fatalf("cut at %d: %q", cut, got)
		}
	}
	// A flipped byte in the last record: the same.
	bad := bytes.Clone(full)
	bad[len(bad)-6] ^= 0x40
	if s, err := readEtcdSnapshot(bad); err != nil || s.records != 1 || !s.torn {
		t.Fatalf("flipped byte in the journal: %v, %+v", err, s)
	}
	if whole.records != 2 || whole.revision != 12 {
		t.Fatalf("whole file: %d records at %d", whole.records, whole.revision)
	}
}

// TestEtcdSnapshotCorruptBase: any change to the magic, header or base, or
// a file cut inside them, is refused whole.
func TestEtcdSnapshotCorruptBase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.snap")
	full := writeTestSnapshot(t, path, true, 10, [][2]string{{"key-1", "v"}, {"key-2", "w"}},
		[]etcdSnapEvent{{op: etcdSnapPut, key: []byte("b"), value: []byte("x")}})
	s, err := readEtcdSnapshot(full)
	if err != nil {
		t.Fatal(err)
	}
	baseEnd := s.journal[0]
	for i := range baseEnd {
		bad := bytes.Clone(full)
		bad[i] ^= 0x01
		if _, err := readEtcdSnapshot(bad); !errors.Is(err, errSnapshotCorrupt) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
		if _, err := readEtcdSnapshot(full[:i]); !errors.Is(err, errSnapshotCorrupt) {
			t.Fatalf("cut at %d: %v", i, err)
		}
	}
}

// FuzzEtcdSnapshotRead: whatever the bytes, reading never panics, and what
// it accepts it walks without panicking and writes back to the same state.
func FuzzEtcdSnapshotRead(f *testing.F) {
	dir := f.TempDir()
	f.Add(writeTestSnapshot(f, filepath.Join(dir, "a"), true, 5, [][2]string{{"a", "1"}},
		[]etcdSnapEvent{{op: etcdSnapDelete, key: []byte("a")}}))
	f.Add(writeTestSnapshot(f, filepath.Join(dir, "b"), false, 1, nil, nil))
	f.Add([]byte(etcdSnapMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := readEtcdSnapshot(data)
		if err != nil {
			return
		}
		var base [][2]string
		s.eachBase(func(ev etcdSnapEvent) { base = append(base, [2]string{string(ev.key), string(ev.value)}) })
		var journal []etcdSnapEvent
		s.eachJournal(func(ev etcdSnapEvent) { journal = append(journal, ev) })
		w, err := createEtcdSnapshot(filepath.Join(t.TempDir(), "s"), s.cluster, s.revision, s.prefix, s.values)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range base {
			if err := w.put([]byte(kv[0]), []byte(kv[1])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.journal(s.revision, journal); err != nil {
			t.Fatal(err)
		}
		w.close()
		again, err := os.ReadFile(w.path)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := readEtcdSnapshot(again)
		if err != nil {
			t.Fatalf("what was read does not read back: %v", err)
		}
		if s2.cluster != s.cluster || s2.prefix != s.prefix || s2.values != s.values || s2.revision != s.revision || s2.torn {
			t.Fatalf("read back %+v, want %+v", s2, s)
		}
		if a, b := snapEvents(s2), snapEvents(s); !slices.Equal(a, b) {
			t.Fatalf("read back %q, want %q", a, b)
		}
	})
}

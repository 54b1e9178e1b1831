package revocation

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
)

// An etcd snapshot file (docs/revocation.md, "Snapshots") holds the keys
// under one etcd source's prefix at one revision (the base), then the changes
// its watch applied after that revision (the journal):
//
//	"MGWSNAP1"
//	cluster id (u64), revision (u64), prefix (bytes), flags (u8: 1 = values kept)
//	base:    'K' key [value] ... 'E' count (u64) crc (u32 of every byte before it)
//	journal: 'J' length (u32) payload crc (u32 of the payload) ...
//	         payload: revision (u64), events (uvarint), each: op (u8: 1 put,
//	         2 delete) key [value (a put, when values are kept)]
//
// Integers are little-endian; bytes are a uvarint length and the bytes; keys
// are relative to the prefix; crc is CRC-32C. A journal record says: these
// are all the changes up to its revision after the previous record's.
//
// The base is written to a temporary file and renamed into place once whole,
// so a base is either complete or absent; a bad base is a bad file, never
// trusted. The journal is appended one record per write, without syncing: a
// crash can leave its last record torn, and a reader stops at the first
// record that is cut short or fails its check, with the state of the records
// before it. That state is true of an earlier revision, and the watch that
// resumes from there sends the rest again.
const etcdSnapMagic = "MGWSNAP1"

const (
	etcdSnapValues = 1 // flag: values are kept

	etcdSnapBaseKey  = 'K'
	etcdSnapBaseEnd  = 'E'
	etcdSnapJournal  = 'J'
	etcdSnapPut      = 1
	etcdSnapDelete   = 2
	etcdSnapMaxField = 1 << 30 // a length beyond this is a broken file
)

var etcdSnapCRC = crc32.MakeTable(crc32.Castagnoli)

// etcdSnapEvent is one change in a journal record.
type etcdSnapEvent struct {
	op         byte // etcdSnapPut or etcdSnapDelete
	key, value []byte
}

// etcdSnapshot is a snapshot file read and checked (readEtcdSnapshot).
type etcdSnapshot struct {
	cluster  uint64
	revision int64 // of the base, then of the last journal record read
	prefix   string
	values   bool
	keys     int // in the base
	data     []byte
	base     [2]int // where the base's records are in data
	journal  [2]int // where the intact journal records are in data
	records  int    // intact journal records
	torn     bool   // the journal ended in a record cut short or broken
}

// errSnapshotCorrupt marks a snapshot that cannot be read.
var errSnapshotCorrupt = errors.New("corrupt")

// snapReader reads the fields of a snapshot; the first failure sticks.
type snapReader struct {
	b   []byte
	pos int
	err error
}

func (r *snapReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at byte %d", errSnapshotCorrupt, what, r.pos)
	}
}

// next is the following n bytes, nil (and the reader failed) when the file
// ends before them.
func (r *snapReader) next(n int) []byte {
	if r.err != nil || len(r.b)-r.pos < n {
		r.fail("file ends early")
		return nil
	}
	v := r.b[r.pos : r.pos+n]
	r.pos += n
	return v
}

func (r *snapReader) byte() byte {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *snapReader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *snapReader) u64() uint64 {
	if b := r.next(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *snapReader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	n, w := binary.Uvarint(r.b[r.pos:])
	if w <= 0 || n > etcdSnapMaxField || n > uint64(len(r.b)-r.pos-w) {
		r.fail("bad length")
		return nil
	}
	r.pos += w
	v := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return v
}

// readEtcdSnapshot checks data as a snapshot file: a whole base whose check
// sum and count agree, then the journal records up to the first one that is
// cut short or broken. Nothing is applied: each walks it afterwards.
func readEtcdSnapshot(data []byte) (*etcdSnapshot, error) {
	if len(data) < len(etcdSnapMagic) || string(data[:len(etcdSnapMagic)]) != etcdSnapMagic {
		return nil, fmt.Errorf("%w: not a snapshot file (or of another version)", errSnapshotCorrupt)
	}
	r := &snapReader{b: data, pos: len(etcdSnapMagic)}
	s := &etcdSnapshot{data: data}
	s.cluster = r.u64()
	rev := r.u64()
	s.prefix = string(r.bytes())
	flags := r.byte()
	if r.err == nil && (rev > math.MaxInt64 || flags&^etcdSnapValues != 0) {
		r.fail("bad header")
	}
	s.revision, s.values = int64(rev), flags&etcdSnapValues != 0
	s.base[0] = r.pos
	for r.err == nil {
		tag := r.byte()
		if tag == etcdSnapBaseEnd {
			break
		}
		if tag != etcdSnapBaseKey {
			r.fail("bad base record")
			break
		}
		r.bytes()
		if s.values {
			r.bytes()
		}
		s.keys++
	}
	s.base[1] = r.pos - 1
	count := r.u64()
	end := r.pos
	sum := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if count != uint64(s.keys) {
		return nil, fmt.Errorf("%w: the base has %d keys, its trailer says %d", errSnapshotCorrupt, s.keys, count)
	}
	if crc32.Checksum(data[:end], etcdSnapCRC) != sum {
		return nil, fmt.Errorf("%w: the base fails its check sum", errSnapshotCorrupt)
	}
	s.journal = [2]int{r.pos, r.pos}
	for r.pos < len(data) {
		rev, ok := s.readRecord(r)
		if !ok {
			s.torn = true
			break
		}
		s.revision = rev
		s.records++
		s.journal[1] = r.pos
	}
	return s, nil
}

// readRecord reads the journal record at r: its revision, or false when it
// is cut short, fails its check sum, does not parse or goes back in time.
func (s *etcdSnapshot) readRecord(r *snapReader) (int64, bool) {
	if r.byte() != etcdSnapJournal {
		return 0, false
	}
	n := r.u32()
	if r.err != nil || uint64(n) > uint64(len(r.b)-r.pos) || len(r.b)-r.pos-int(n) < 4 {
		return 0, false
	}
	payload := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	if crc32.Checksum(payload, etcdSnapCRC) != r.u32() {
		return 0, false
	}
	p := &snapReader{b: payload}
	rev := p.u64()
	events, w := binary.Uvarint(payload[min(p.pos, len(payload)):])
	if p.err != nil || w <= 0 || rev > math.MaxInt64 || int64(rev) < s.revision || events > uint64(len(payload)) {
		return 0, false
	}
	p.pos += w
	for range events {
		switch p.byte() {
		case etcdSnapPut:
			p.bytes()
			if s.values {
				p.bytes()
			}
		case etcdSnapDelete:
			p.bytes()
		default:
			p.fail("bad op")
		}
	}
	if p.err != nil || p.pos != len(payload) {
		return 0, false
	}
	return int64(rev), true
}

// each calls fn with every key of the base (a put), then every change of the
// journal records read, in order.
func (s *etcdSnapshot) each(fn func(ev etcdSnapEvent)) {
	s.eachBase(fn)
	s.eachJournal(fn)
}

// eachBase calls fn with every key of the base, as a put.
func (s *etcdSnapshot) eachBase(fn func(ev etcdSnapEvent)) {
	r := &snapReader{b: s.data[:s.base[1]], pos: s.base[0]}
	for r.pos < len(r.b) {
		r.byte()
		ev := etcdSnapEvent{op: etcdSnapPut, key: r.bytes()}
		if s.values {
			ev.value = r.bytes()
		}
		fn(ev)
	}
}

// eachJournal calls fn with every change of the journal records read.
func (s *etcdSnapshot) eachJournal(fn func(ev etcdSnapEvent)) {
	r := &snapReader{b: s.data[:s.journal[1]], pos: s.journal[0]}
	for r.pos < len(r.b) {
		r.byte()
		n := int(r.u32())
		p := &snapReader{b: r.b[r.pos : r.pos+n]}
		r.pos += n + 4
		p.u64()
		events, w := binary.Uvarint(p.b[p.pos:])
		p.pos += w
		for range events {
			ev := etcdSnapEvent{op: p.byte(), key: p.bytes()}
			if ev.op == etcdSnapPut && s.values {
				ev.value = p.bytes()
			}
			fn(ev)
		}
	}
}

// etcdSnapWriter writes a snapshot file: a base into a temporary file, which
// commit renames into place, then journal records appended to it.
type etcdSnapWriter struct {
	path   string
	tmp    string // the temporary file while the base is written
	f      *os.File
	values bool
	buf    []byte
	crc    uint32 // of the base so far
	keys   uint64
	size   int64 // bytes in the file
	base   int64 // bytes of the base
}

// etcdSnapFlushAt is how much of a base is buffered before it is written.
const etcdSnapFlushAt = 256 << 10

// createEtcdSnapshot starts a new base for path, in a temporary file beside
// it.
func createEtcdSnapshot(path string, cluster uint64, revision int64, prefix string, values bool) (*etcdSnapWriter, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	w := &etcdSnapWriter{path: path, tmp: f.Name(), f: f, values: values, buf: make([]byte, 0, etcdSnapFlushAt+4096)}
	w.buf = append(w.buf, etcdSnapMagic...)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, cluster)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(revision))
	w.buf = appendSnapBytes(w.buf, []byte(prefix))
	var flags byte
	if values {
		flags |= etcdSnapValues
	}
	w.buf = append(w.buf, flags)
	return w, nil
}

func appendSnapBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// put adds a key of the base.
func (w *etcdSnapWriter) put(key, value []byte) error {
	w.buf = append(w.buf, etcdSnapBaseKey)
	w.buf = appendSnapBytes(w.buf, key)
	if w.values {
		w.buf = appendSnapBytes(w.buf, value)
	}
	w.keys++
	if len(w.buf) >= etcdSnapFlushAt {
		return w.flushBase()
	}
	return nil
}

func (w *etcdSnapWriter) flushBase() error {
	w.crc = crc32.Update(w.crc, etcdSnapCRC, w.buf)
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.buf = w.buf[:0]
	return err
}

// commit ends the base, syncs it and renames it into place; the writer then
// appends journal records to it.
func (w *etcdSnapWriter) commit() error {
	w.buf = append(w.buf, etcdSnapBaseEnd)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, w.keys)
	w.crc = crc32.Update(w.crc, etcdSnapCRC, w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, w.crc)
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	w.base = w.size
	w.buf = w.buf[:0]
	if err == nil {
		err = w.f.Sync()
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		return err // the caller aborts
	}
	w.tmp = ""
	return nil
}

// appendEtcdSnapshot opens the snapshot s read from path for its journal:
// cut after the last intact record, appended to from there.
func appendEtcdSnapshot(path string, s *etcdSnapshot) (*etcdSnapWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	end := int64(s.journal[1])
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(end, 0); err != nil {
		f.Close()
		return nil, err
	}
	return &etcdSnapWriter{path: path, f: f, values: s.values, size: end, base: int64(s.journal[0])}, nil
}

// journal appends a record: the changes after the previous record's
// revision, up to revision, in one write.
func (w *etcdSnapWriter) journal(revision int64, events []etcdSnapEvent) error {
	p := w.buf[:0]
	p = append(p, etcdSnapJournal, 0, 0, 0, 0)
	p = binary.LittleEndian.AppendUint64(p, uint64(revision))
	p = binary.AppendUvarint(p, uint64(len(events)))
	for _, ev := range events {
		p = append(p, ev.op)
		p = appendSnapBytes(p, ev.key)
		if ev.op == etcdSnapPut && w.values {
			p = appendSnapBytes(p, ev.value)
		}
	}
	binary.LittleEndian.PutUint32(p[1:], uint32(len(p)-5))
	p = binary.LittleEndian.AppendUint32(p, crc32.Checksum(p[5:], etcdSnapCRC))
	w.buf = p[:0]
	n, err := w.f.Write(p)
	w.size += int64(n)
	return err
}

// journalBytes is the size of the journal.
func (w *etcdSnapWriter) journalBytes() int64 { return w.size - w.base }

// abort drops a base not yet committed; close ends a committed file.
func (w *etcdSnapWriter) abort() {
	w.f.Close()
	if w.tmp != "" {
		os.Remove(w.tmp)
	}
}

func (w *etcdSnapWriter) close() error { return w.f.Close() }

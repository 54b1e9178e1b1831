package revocation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// This file holds the parts of the example file store (the extension that
// `micro-gw init` writes) that are worth testing and reusing: the file
// format and the file watcher. The extension itself stays short.

// maxRevokedTokensLine bounds one line of a revoked tokens file; a longer
// line is reported and skipped (no jti is that long).
const maxRevokedTokensLine = 8192

// LineError is a fault on one line of a file; its message starts with
// file:line, as compilers print it.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ParseRevokedTokensFile reads a revoked tokens file: one jti a line,
// optionally followed by whitespace and a ttl in whole seconds; '#' starts a
// comment, on its own line or after an entry; blank lines are ignored.
//
//	# revoked after the laptop was stolen
//	4f1c0b0e-3c1a-4a39-9d3e-5f1f0cc0a1de 3600
//	a-jti-revoked-until-removed          # no ttl: until the line is removed
//
// A ttl counts from base (the example store passes the file's modification
// time, so that reading the same file again gives the same expiries); no
// ttl, or 0, means no expiry. A jti listed twice keeps the later expiry.
//
// Lines that cannot be read are returned in bad, each a *LineError naming
// name and the line, and skipped; err is set only when r itself fails, and
// then the entries are incomplete and must not be used.
func ParseRevokedTokensFile(r io.Reader, name string, base time.Time) (entries []Entry, bad []error, err error) {
	br := bufio.NewReader(r)
	index := map[string]int{} // jti -> position in entries
	for lineNo := 1; ; lineNo++ {
		line, tooLong, readErr := readLine(br)
		if readErr != nil && readErr != io.EOF {
			return nil, bad, fmt.Errorf("read %s: %w", name, readErr)
		}
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF") // a byte order mark left by some editors
		}
		switch {
		case tooLong:
			bad = append(bad, &LineError{name, lineNo, fmt.Errorf("line longer than %d bytes", maxRevokedTokensLine)})
		default:
			e, ok, lineErr := parseRevokedTokensLine(line, base)
			if lineErr != nil {
				bad = append(bad, &LineError{name, lineNo, lineErr})
			} else if ok {
				if i, dup := index[e.JTI]; dup {
					entries[i].ExpiresAt = laterExpiry(entries[i].ExpiresAt, e.ExpiresAt)
				} else {
					index[e.JTI] = len(entries)
					entries = append(entries, e)
				}
			}
		}
		if readErr == io.EOF {
			return entries, bad, nil
		}
	}
}

// readLine reads one line without its end, however long it is, keeping at
// most maxRevokedTokensLine bytes of it.
func readLine(br *bufio.Reader) (line string, tooLong bool, err error) {
	var b strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if b.Len()+len(chunk) > maxRevokedTokensLine {
			tooLong = true
		} else {
			b.Write(chunk)
		}
		if err != nil {
			if err == io.EOF && (b.Len() > 0 || tooLong) {
				err = nil // the last line has no line end; EOF comes next call
			}
			return b.String(), tooLong, err
		}
		if !isPrefix {
			return b.String(), tooLong, nil
		}
	}
}

// parseRevokedTokensLine parses one line; ok is false for a blank or
// comment line.
func parseRevokedTokensLine(line string, base time.Time) (e Entry, ok bool, err error) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	fields := strings.Fields(line)
	switch len(fields) {
	case 0:
		return Entry{}, false, nil
	case 1:
		return Entry{JTI: fields[0]}, true, nil
	case 2:
		secs, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return Entry{}, false, fmt.Errorf("ttl %q of %q is not a whole number of seconds", fields[1], fields[0])
		}
		if secs > math.MaxInt64/uint64(time.Second) {
			return Entry{}, false, fmt.Errorf("ttl %q of %q is too large", fields[1], fields[0])
		}
		e := Entry{JTI: fields[0]}
		if secs > 0 {
			e.ExpiresAt = base.Add(time.Duration(secs) * time.Second)
		}
		return e, true, nil
	}
	return Entry{}, false, fmt.Errorf("want a jti and an optional ttl, found %d fields (a jti cannot contain spaces or '#')", len(fields))
}

// laterExpiry returns the later of two expiries, no expiry (zero) winning.
func laterExpiry(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if b.After(a) {
		return b
	}
	return a
}

// fileWatchPoll is how often WatchFile also checks the file itself, for
// file systems where change notifications do not arrive (NFS, some
// container mounts) and in case the folder's watch is lost.
const fileWatchPoll = 2 * time.Second

// fileWatchSettle is how long a burst of change events must be quiet before
// WatchFile reports it: editors save in several steps.
const fileWatchSettle = 100 * time.Millisecond

// WatchFile calls changed each time the file at path changes (its content,
// size, modification time, or the file it names, as when an editor or a
// Kubernetes ConfigMap replaces it by renaming a new file over it), until
// ctx is done. It watches the file's folder rather than the file, so that a
// replaced file is still followed, and also compares the file's state every
// few seconds in case notifications do not arrive.
//
// changed is also called once as soon as the watch is in place: the file
// may have changed between the caller's last read of it and the start of
// the watch, and that change would otherwise be missed. changed is called
// from WatchFile's goroutine, one call at a time. WatchFile returns ctx's
// error when ctx is done.
func WatchFile(ctx context.Context, path string, changed func()) error {
	return watchFile(ctx, path, fileWatchPoll, changed, nil)
}

// watchFile is WatchFile with the poll interval given, calling started (if
// not nil) once the file's first state is taken and its folder watched.
func watchFile(ctx context.Context, path string, pollEvery time.Duration, changed, started func()) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		if err := w.Add(filepath.Dir(abs)); err == nil {
			events, errs = w.Events, w.Errors
		}
		// Without a watch (an inotify limit reached, a folder that does not
		// exist yet) the poll alone notices changes.
	}

	last := statFile(abs)
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	settle := time.NewTimer(fileWatchSettle)
	settle.Stop()
	check := func() {
		if now := statFile(abs); !now.same(last) {
			last = now
			changed()
		}
	}
	if started != nil {
		started()
	}
	changed()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Any event in the folder may concern the file (a symlink
			// swapped, a rename over it); the state comparison decides.
			settle.Reset(fileWatchSettle)
		case _, ok := <-errs:
			if !ok {
				errs = nil
			}
		case <-settle.C:
			check()
		case <-poll.C:
			check()
		}
	}
}

// fileState is what WatchFile compares to notice a change.
type fileState struct {
	info os.FileInfo // nil: the file does not exist or cannot be read
}

func statFile(path string) fileState {
	info, err := os.Stat(path) // follows symlinks: the state of the file named
	if err != nil {
		return fileState{}
	}
	return fileState{info}
}

func (a fileState) same(b fileState) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.Size() == b.info.Size() &&
		a.info.ModTime().Equal(b.info.ModTime())
}

// errNotRegularFile reports a path that names a folder or a device.
var errNotRegularFile = errors.New("not a regular file")

// ReadRevokedTokensFile opens and parses the revoked tokens file at path
// (see ParseRevokedTokensFile), with ttls counted from the file's
// modification time. The example file store is built on it.
func ReadRevokedTokensFile(path string) (entries []Entry, bad []error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: %w", path, errNotRegularFile)
	}
	return ParseRevokedTokensFile(f, path, info.ModTime())
}

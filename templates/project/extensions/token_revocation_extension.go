// This file is an example of a custom persistent revocation store, written
// by `micro-gw init`. `micro-gw build` compiles every .go file of the
// project's extensions/ folder into the gateway, in its main package; this
// one registers a store named "file" that reads revoked token IDs (jti) from
// a text file and follows the changes to that file.
//
// It is used when conf/micro-gw.conf says:
//
//	[tokenRevocationConfig.persistent]
//	enablePersistentStorageRetrieval = true
//	useDefault = false                                 # a custom store, not etcd
//	revokedTokensFile = "extensions/revoked_tokens.txt"  # optional; this is the default
//
// To write your own store (a database table, an HTTP endpoint, ...), copy
// this file, give the store another name, and implement:
//
//   - Load(ctx) ([]revocation.Entry, error): everything revoked now. The
//     gateway calls it at start and again after a failure or a resync, and
//     un-revokes what a later Load no longer lists. Until the first Load
//     succeeds the gateway is not ready (and, by default, refuses secured
//     requests), so return an error rather than an empty list when the
//     store cannot be read: never let a revoked token in.
//   - optionally Watch(ctx, sink) error: deliver changes as they happen with
//     sink.Revoke(jti, expiresAt) and sink.Unrevoke(jti) until ctx is done.
//     When Watch returns an error, the gateway calls Load and Watch again
//     after a backoff.
//
// Every key of [tokenRevocationConfig.persistent] that the gateway does not
// use itself reaches New in StoreConfig.Settings. Log through
// StoreConfig.Logger; never log a whole token (the jti is fine).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// init registers the store when the gateway starts, before the
// configuration is read.
func init() {
	revocation.RegisterStore(revocation.StoreInfo{Name: "file", New: newFileRevocationStore})
}

// defaultRevokedTokensFile is used when revokedTokensFile is not set.
const defaultRevokedTokensFile = "extensions/revoked_tokens.txt"

// fileRevocationStore reads revoked tokens from a file. The format (one jti
// a line, an optional ttl in seconds, '#' comments) is parsed by
// revocation.ReadRevokedTokensFile; see extensions/revoked_tokens.txt.
type fileRevocationStore struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	current map[string]bool // the jtis of the file as last read
}

// newFileRevocationStore creates the store from its settings. It only
// checks them: reading the file is Load's job, so that a file that cannot
// be read yet is retried instead of stopping the gateway.
func newFileRevocationStore(cfg revocation.StoreConfig) (revocation.Store, error) {
	path := defaultRevokedTokensFile
	if v, ok := cfg.Settings["revokedTokensFile"]; ok {
		s, isString := v.(string)
		if !isString || s == "" {
			return nil, fmt.Errorf("revokedTokensFile must be a non-empty string (a path), not %v", v)
		}
		path = s
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(cfg.ProjectRoot, path)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &fileRevocationStore{path: path, log: log.With("file", path)}, nil
}

// Load reads the whole file. A file that is missing or unreadable is an
// error (the gateway retries); a bad line is logged and skipped.
func (s *fileRevocationStore) Load(_ context.Context) ([]revocation.Entry, error) {
	entries, err := s.read()
	if err != nil {
		return nil, err
	}
	s.remember(entries)
	return entries, nil
}

// Watch follows the file until ctx is done. Each time it changes (saved in
// place, replaced by an editor, swapped by a Kubernetes ConfigMap update) it
// is read again and the differences are delivered to sink: new jtis are
// revoked, jtis no longer listed are accepted again.
func (s *fileRevocationStore) Watch(ctx context.Context, sink revocation.Sink) error {
	return revocation.WatchFile(ctx, s.path, func() {
		entries, err := s.read()
		if err != nil {
			// Most likely the file is being replaced, or was removed: keep
			// every token revoked so far. To accept them all again, empty
			// the file rather than deleting it.
			s.log.Warn("cannot read the revoked tokens file; keeping the tokens revoked so far", "err", err)
			return
		}
		previous := s.remember(entries)
		for _, e := range entries {
			sink.Revoke(e.JTI, e.ExpiresAt)
		}
		for jti := range previous {
			if !s.listed(jti) {
				sink.Unrevoke(jti)
			}
		}
		s.log.Info("revoked tokens file reloaded", "count", len(entries))
	})
}

// read parses the file, logging the lines it skips with file:line.
func (s *fileRevocationStore) read() ([]revocation.Entry, error) {
	entries, bad, err := revocation.ReadRevokedTokensFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("read revoked tokens: %w", err)
	}
	for _, lineErr := range bad {
		s.log.Warn("skipping a line of the revoked tokens file", "err", lineErr)
	}
	return entries, nil
}

// remember makes entries the current list and returns the previous one.
func (s *fileRevocationStore) remember(entries []revocation.Entry) (previous map[string]bool) {
	current := make(map[string]bool, len(entries))
	for _, e := range entries {
		current[e.JTI] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	previous, s.current = s.current, current
	return previous
}

// listed reports whether jti is in the current list.
func (s *fileRevocationStore) listed(jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current[jti]
}

// These lines make the compiler check that the store implements the
// interfaces (Watcher is optional).
var (
	_ revocation.Store   = (*fileRevocationStore)(nil)
	_ revocation.Watcher = (*fileRevocationStore)(nil)
)

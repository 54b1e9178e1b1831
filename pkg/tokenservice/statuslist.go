package tokenservice

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
)

// StatusListPath is where a token service serves its Token Status List.
const StatusListPath = "/statuslists/1"

// DefaultStatusListTTL is the ttl of the list a token service serves: how
// long a gateway may use a copy before it fetches again, and so how long a
// revocation takes at most to reach it through the list.
const DefaultStatusListTTL = 5 * time.Second

// StatusListSize is the number of entries of a token service's list.
const StatusListSize = 1 << 16

// Signer signs a token service's JWTs: its issuer's key.
type Signer struct {
	Key    crypto.Signer
	KeyID  string
	Issuer string
}

// StatusList is a token service's Token Status List (docs/revocation.md,
// "Token Status List"): one list of one-bit statuses whose entries it gives
// to the tokens it issues (Assign), served as a signed Status List Token
// (ServeHTTP), and a Side of its Revoker: revoking a token it issued flips
// the token's entry to INVALID. The list and which jti has which entry are
// kept in a file, so that they survive a restart.
type StatusList struct {
	URI    string
	TTL    time.Duration
	signer Signer
	path   string

	mu    sync.Mutex
	list  *statuslist.List
	next  uint64
	byJTI map[string]statusEntry
}

type statusEntry struct {
	Idx uint64 `json:"idx"`
	Exp int64  `json:"exp"` // the token's exp: the entry is forgotten after it
}

// statusListFile is the file's form.
type statusListFile struct {
	LST  string                 `json:"lst"`
	Next uint64                 `json:"next"`
	JTIs map[string]statusEntry `json:"jtis"`
}

// OpenStatusList opens the list kept in path (a new one when there is none)
// to be served at uri and signed by s.
func OpenStatusList(path, uri string, s Signer) (*StatusList, error) {
	l := &StatusList{URI: uri, TTL: DefaultStatusListTTL, signer: s, path: path, byJTI: map[string]statusEntry{}}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		l.list, err = statuslist.NewList(1, StatusListSize)
		return l, err
	case err != nil:
		return nil, fmt.Errorf("read the status list: %w", err)
	}
	var f statusListFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: not a status list file: %w", path, err)
	}
	if l.list, err = statuslist.DecodeList(1, f.LST); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l.next = f.Next
	if f.JTIs != nil {
		l.byJTI = f.JTIs
	}
	return l, nil
}

// saveLocked writes the list whole; l.mu is held.
func (l *StatusList) saveLocked() error {
	now := time.Now().Unix()
	for jti, e := range l.byJTI {
		if e.Exp < now {
			delete(l.byJTI, jti)
		}
	}
	data, err := json.Marshal(statusListFile{LST: l.list.Encode(), Next: l.next, JTIs: l.byJTI})
	if err != nil {
		return err
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write the status list: %w", err)
	}
	return os.Rename(tmp, l.path)
}

// Assign gives the next entry of the list (VALID) to the token jti, which
// expires at exp. Entries are not reused: a full list is an error.
func (l *StatusList) Assign(jti string, exp time.Time) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.next >= uint64(l.list.Len()) {
		return 0, fmt.Errorf("the status list's %d entries are all given out: remove %s to start a new one", l.list.Len(), filepath.Base(l.path))
	}
	idx := l.next
	l.next++
	l.byJTI[jti] = statusEntry{Idx: idx, Exp: exp.Unix()}
	return idx, l.saveLocked()
}

// Claim is the status claim of the token that has entry idx.
func (l *StatusList) Claim(idx uint64) map[string]any {
	return map[string]any{"status_list": map[string]any{"idx": idx, "uri": l.URI}}
}

// Name implements Side.
func (l *StatusList) Name() string { return "status list " + l.URI }

// Revoke implements Side: the entry of jti, if this service gave it one,
// becomes INVALID.
func (l *StatusList) Revoke(_ context.Context, jti string, _ time.Duration) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byJTI[jti]
	if !ok {
		return "", nil // not a token of this list: nothing to do here
	}
	l.list.Set(e.Idx, statuslist.Invalid)
	if err := l.saveLocked(); err != nil {
		return "", err
	}
	return fmt.Sprintf("set entry %d of the status list %s to INVALID (jti %s)", e.Idx, l.URI, jti), nil
}

// Close implements Side.
func (l *StatusList) Close() {}

// Token is the list as a signed Status List Token: typ statuslist+jwt, sub
// the list's URI, iat, exp (ten minutes on), ttl.
func (l *StatusList) Token(now time.Time) (string, error) {
	l.mu.Lock()
	lst := l.list.Encode()
	l.mu.Unlock()
	method, err := issuer.MethodFor(l.signer.Key)
	if err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(method, jwt.MapClaims{
		"iss": l.signer.Issuer, "sub": l.URI, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"ttl": int64(l.TTL / time.Second), "status_list": map[string]any{"bits": 1, "lst": lst},
	})
	tok.Header["typ"] = statuslist.TokenType
	if l.signer.KeyID != "" {
		tok.Header["kid"] = l.signer.KeyID
	}
	return tok.SignedString(l.signer.Key)
}

// ServeHTTP serves the Status List Token (GET).
func (l *StatusList) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "use GET", http.StatusMethodNotAllowed)
		return
	}
	tok, err := l.Token(time.Now())
	if err != nil {
		http.Error(w, "cannot sign the status list", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", statuslist.MediaType)
	w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", int64(l.TTL/time.Second)))
	_, _ = w.Write([]byte(tok))
}

var _ Side = (*StatusList)(nil)

// AddSide adds a side to r: the development token service's status list,
// which takes token revocations and no rules.
func (r *Revoker) AddSide(s Side) { r.sides = append(r.sides, s) }

package ssf

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// StateFileName is the receiver's state, beside the conf.
const StateFileName = "ssf-receiver.state.json"

// keepApplied is how long the jti of an event applied (or acknowledged) is
// remembered, so that a transmitter that delivers it again gets its
// acknowledgement without the revocation being sent twice.
const keepApplied = 7 * 24 * time.Hour

// State is what the receiver keeps across restarts: its stream, the events
// it has applied, and the acknowledgements not yet sent (poll).
type State struct {
	Transmitter string `json:"transmitter"`
	StreamID    string `json:"stream_id"`
	// Delivery is the stream's method, Endpoint its poll URL or the push
	// URL it was created with.
	Delivery string `json:"delivery"`
	Endpoint string `json:"endpoint,omitempty"`
	// Applied: jti -> unix seconds when the event was stored (or found to
	// revoke nothing).
	Applied map[string]int64 `json:"applied"`
	// PendingAcks are applied events the transmitter has not been told of.
	PendingAcks []string `json:"pending_acks"`

	path string
	mu   sync.Mutex
}

// LoadState reads path; a missing file is an empty state.
func LoadState(path string) (*State, error) {
	s := &State{path: path, Applied: map[string]int64{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the receiver's state: %w", err)
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%s: not the receiver's state (delete it to start a new stream): %w", path, err)
	}
	if s.Applied == nil {
		s.Applied = map[string]int64{}
	}
	return s, nil
}

// save writes the state whole (a temporary file renamed over the old one);
// s.mu is held.
func (s *State) save() error {
	cut := time.Now().Add(-keepApplied).Unix()
	for jti, at := range s.Applied {
		if at < cut {
			delete(s.Applied, jti)
		}
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".ssf-receiver.state-*")
	if err != nil {
		return fmt.Errorf("write the receiver's state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write the receiver's state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write the receiver's state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the receiver's state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("write the receiver's state: %w", err)
	}
	return nil
}

// applied reports whether the event jti was applied already.
func (s *State) applied(jti string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.Applied[jti]
	return ok
}

// markApplied records jti (and, for poll, that it is to be acknowledged)
// and saves the state: only then is the event acknowledged.
func (s *State) markApplied(jti string, ack bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Applied[jti] = time.Now().Unix()
	if ack {
		s.PendingAcks = append(s.PendingAcks, jti)
	}
	return s.save()
}

// pending returns the acknowledgements to send.
func (s *State) pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.PendingAcks...)
}

// acked drops acks from the pending ones.
func (s *State) acked(acks []string) error {
	if len(acks) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := map[string]bool{}
	for _, a := range acks {
		sent[a] = true
	}
	keep := s.PendingAcks[:0]
	for _, a := range s.PendingAcks {
		if !sent[a] {
			keep = append(keep, a)
		}
	}
	s.PendingAcks = keep
	return s.save()
}

// setStream records the stream and saves.
func (s *State) setStream(transmitter, id, delivery, endpoint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Transmitter, s.StreamID, s.Delivery, s.Endpoint = transmitter, id, delivery, endpoint
	return s.save()
}

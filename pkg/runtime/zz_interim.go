//go:build !wired

package runtime

import "errors"

// configuredSources is replaced by sources_config.go as soon as the broker
// subscriber and the store source land in pkg/revocation.
func (s *Server) configuredSources() error {
	rc := s.cfg.Revocation
	if rc.Realtime.Enabled || rc.Persistent.Enabled {
		return errors.New("revocation sources are not available in this build yet")
	}
	return nil
}

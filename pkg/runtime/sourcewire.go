package runtime

// provisionSources creates the revocation sources the configuration enables
// (or takes Options.Sources): the real-time broker subscriber, and the
// persistent source, etcd with useDefault = true, else the custom store
// compiled in. After a reconnect the subscriber asks the persistent source to
// resync, because a topic drops what was published while it was away.
func (s *Server) provisionSources() error {
	rv := s.revocation
	if s.opts.Sources != nil {
		for _, ns := range s.opts.Sources {
			sr := &sourceRun{name: ns.Name, src: ns.Source}
			rv.sources = append(rv.sources, sr)
			if ns.Persistent {
				rv.persistent = sr
			}
		}
		return nil
	}
	return s.configuredSources()
}

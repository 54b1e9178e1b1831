package runtime

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	"github.com/micro-gw/micro-gw/pkg/revocation"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

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
				rv.persistent = append(rv.persistent, sr)
			}
		}
		return nil
	}
	return s.configuredSources()
}

// snapshotDir is where the etcd sources keep their snapshots: snapshotDir,
// which Load made absolute against the project root. A relative one is a
// configuration that was not loaded from a project's conf (tests), which
// has no root to put it under: no snapshots.
func snapshotDir(cfg *config.Config) string {
	if d := cfg.Revocation.Persistent.SnapshotDir; filepath.IsAbs(d) {
		return d
	}
	return ""
}

// configuredSources creates the sources the configuration enables.
func (s *Server) configuredSources() error {
	rv := s.revocation
	tlsConf := &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	rc := s.cfg.Revocation
	var resync []revocation.Resyncer
	if p := rc.Persistent; p.Enabled {
		if p.UseDefault {
			ec := revocation.EtcdConfig{
				Hostname:       p.Hostname,
				Endpoints:      p.Endpoints,
				Username:       p.Username,
				Password:       p.Password,
				TLS:            tlsConf,
				Logger:         s.logger,
				Registerer:     s.metrics.registry,
				RulesPrefix:    p.RulesPrefix,
				BlockingPrefix: p.BlockingPrefix,
				SnapshotDir:    snapshotDir(s.cfg),
			}
			src, err := revocation.NewEtcdSource(ec)
			if err != nil {
				return fmt.Errorf("persistent revocation store (etcd): %w", err)
			}
			// The rules prefix: the same list, watch and recovery, a
			// second source (and client) of its own.
			rules, err := revocation.NewEtcdRuleSource(ec)
			if err != nil {
				return fmt.Errorf("persistent revocation store (etcd rules): %w", err)
			}
			// Blocking conditions: a third, on the blocking prefix.
			blocks, err := revocation.NewEtcdBlockSource(ec)
			if err != nil {
				return fmt.Errorf("persistent revocation store (etcd blocking conditions): %w", err)
			}
			for _, sr := range []*sourceRun{{name: "etcd", src: src}, {name: "etcd-rules", src: rules}, {name: "etcd-blocking", src: blocks}} {
				rv.sources = append(rv.sources, sr)
				rv.persistent = append(rv.persistent, sr)
			}
			resync = append(resync, src, rules, blocks)
		} else {
			info, err := s.opts.Registry.Lookup(p.Store)
			if err != nil {
				return fmt.Errorf("persistent revocation store: %w", err)
			}
			store, err := revocation.NewCustomStore(s.opts.Registry, info.Name, revocation.StoreConfig{
				ProjectRoot: s.cfg.Root, Settings: p.Settings, Logger: s.logger,
			})
			if err != nil {
				return fmt.Errorf("persistent revocation store: %w", err)
			}
			src := revocation.NewStoreSource(store, s.logger).WithRegisterer(s.metrics.registry)
			sr := &sourceRun{name: "store:" + info.Name, src: src}
			rv.sources = append(rv.sources, sr)
			rv.persistent = append(rv.persistent, sr)
			resync = append(resync, src)
		}
	}
	if rt := rc.Realtime; rt.Enabled {
		var onReconnect func()
		if len(resync) > 0 {
			onReconnect = func() {
				for _, r := range resync {
					r.Resync()
				}
			}
		}
		sub, err := revocation.NewBrokerSubscriber(revocation.BrokerConfig{
			URL:         rt.ProviderURL,
			Username:    rt.Username,
			Password:    rt.Password,
			Topic:       rt.Topic,
			TLS:         tlsConf,
			Logger:      s.logger,
			Registerer:  s.metrics.registry,
			OnReconnect: onReconnect,
		})
		if err != nil {
			return fmt.Errorf("real-time revocation subscriber: %w", err)
		}
		rv.sources = append(rv.sources, &sourceRun{name: "broker", src: sub})
	}
	return nil
}

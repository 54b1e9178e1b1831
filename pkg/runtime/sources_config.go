//go:build wired

package runtime

import (
	"crypto/tls"
	"fmt"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// configuredSources creates the sources the configuration enables.
func (s *Server) configuredSources() error {
	rv := s.revocation
	tlsConf := &tls.Config{RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	rc := s.cfg.Revocation
	var resync revocation.Resyncer
	if p := rc.Persistent; p.Enabled {
		var sr *sourceRun
		if p.UseDefault {
			src, err := revocation.NewEtcdSource(revocation.EtcdConfig{
				Hostname:   p.Hostname,
				Endpoints:  p.Endpoints,
				Username:   p.Username,
				Password:   p.Password,
				TLS:        tlsConf,
				Logger:     s.logger.With("source", "etcd"),
				Registerer: s.metrics.registry,
			})
			if err != nil {
				return fmt.Errorf("persistent revocation store (etcd): %w", err)
			}
			sr, resync = &sourceRun{name: "etcd", src: src}, src
		} else {
			info, err := s.opts.Registry.Lookup(p.Store)
			if err != nil {
				return fmt.Errorf("persistent revocation store: %w", err)
			}
			logger := s.logger.With("source", "store:"+info.Name)
			store, err := info.New(revocation.StoreConfig{ProjectRoot: s.cfg.Root, Settings: p.Settings, Logger: logger})
			if err != nil {
				return fmt.Errorf("persistent revocation store %s: %w", info.Name, err)
			}
			src := revocation.NewStoreSource(store, logger)
			sr = &sourceRun{name: "store:" + info.Name, src: src}
			if r, ok := any(src).(revocation.Resyncer); ok {
				resync = r
			}
		}
		rv.sources = append(rv.sources, sr)
		rv.persistent = sr
	}
	if rt := rc.Realtime; rt.Enabled {
		var onReconnect func()
		if resync != nil {
			onReconnect = resync.Resync
		}
		sub, err := revocation.NewBrokerSubscriber(revocation.BrokerConfig{
			URL:         rt.ProviderURL,
			Username:    rt.Username,
			Password:    rt.Password,
			Topic:       rt.Topic,
			TLS:         tlsConf,
			Logger:      s.logger.With("source", "broker"),
			Registerer:  s.metrics.registry,
			OnReconnect: onReconnect,
		})
		if err != nil {
			return fmt.Errorf("real-time revocation subscriber: %w", err)
		}
		s.metrics.registerBroker(sub.Connected)
		rv.sources = append(rv.sources, &sourceRun{name: "broker", src: sub})
	}
	return nil
}

package tokenservice

import (
	"crypto/tls"

	"github.com/micro-gw/micro-gw/pkg/truststore"
)

// TLSConfig returns the TLS settings for reaching the broker and etcd: the
// system's roots plus every certificate of the conf's trust store, read as
// the gateway reads it (pkg/truststore), so that a broker or etcd with a
// private CA is trusted by both. An empty or missing path gives the system's
// roots alone.
func TLSConfig(trustStorePath, password string) (*tls.Config, error) {
	pool, err := truststore.Pool(trustStorePath, password)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

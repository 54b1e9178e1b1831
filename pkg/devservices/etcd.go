package devservices

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// etcdStartTimeout bounds how long the embedded etcd may take to become
// ready; it is usually under a second, more on a slow disk.
const etcdStartTimeout = time.Minute

// startEtcd starts a one-member etcd with its data in dir, serving clients
// on clientAddr and peers on peerAddr (host:port; port 0 picks a free one).
// It has no authentication and plain HTTP: it listens on loopback only, for
// development. Its own log goes to dir/etcd.log.
func startEtcd(ctx context.Context, dir, clientAddr, peerAddr string) (*embed.Etcd, string, error) {
	clientAddr, err := resolvePort(clientAddr)
	if err != nil {
		return nil, "", fmt.Errorf("etcd client address: %w", err)
	}
	peerAddr, err = resolvePort(peerAddr)
	if err != nil {
		return nil, "", fmt.Errorf("etcd peer address: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "micro-gw-dev"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")}
	curl := url.URL{Scheme: "http", Host: clientAddr}
	purl := url.URL{Scheme: "http", Host: peerAddr}
	cfg.ListenClientUrls = []url.URL{curl}
	cfg.AdvertiseClientUrls = []url.URL{curl}
	cfg.ListenPeerUrls = []url.URL{purl}
	cfg.AdvertisePeerUrls = []url.URL{purl}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("start etcd: %w", err)
	}
	timer := time.NewTimer(etcdStartTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return e, curl.String(), nil
	case err := <-e.Err():
		e.Close()
		return nil, "", fmt.Errorf("etcd failed while starting (see %s): %w", cfg.LogOutputs[0], err)
	case <-timer.C:
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("etcd not ready after %s (see %s)", etcdStartTimeout, cfg.LogOutputs[0])
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return nil, "", fmt.Errorf("start etcd: %w", ctx.Err())
	}
}

// resolvePort replaces port 0 in addr by a port that is free now. etcd has
// to advertise the URLs it listens on, so it cannot be handed port 0 itself;
// the small window in which another process could take the port is fine for
// development and tests.
func resolvePort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	tcp, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return "", errors.New("not a TCP address")
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port)), nil
}

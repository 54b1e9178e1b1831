package devservices

import (
	"crypto"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// DefaultStatusListAddr is where `micro-gw dev` serves its Token Status
// List: plain HTTP, which gateways accept from loopback addresses only.
const DefaultStatusListAddr = "127.0.0.1:8246"

// DevIssuer is the project's development issuer: the key that signs the
// tokens and the status list, under the issuer and audience the project's
// conf trusts.
type DevIssuer struct {
	Key      crypto.Signer
	KeyID    string
	Issuer   string
	Audience string
}

// statusListServer is the plain-HTTP listener of the list.
type statusListServer struct {
	list   *tokenservice.StatusList
	signer tokenservice.Signer
	host   string
	srv    *http.Server
	err    chan error
}

// startStatusList opens the list kept in the data folder, serves it, and
// makes it a side of the revoker, so that /revoke flips a token's entry.
func (s *Services) startStatusList() error {
	is := s.cfg.Issuer
	if is == nil {
		return nil
	}
	l, err := net.Listen("tcp", s.cfg.StatusListAddr)
	if err != nil {
		return fmt.Errorf("start the status list: %w", err)
	}
	host, _, _ := net.SplitHostPort(l.Addr().String())
	uri := "http://" + l.Addr().String() + tokenservice.StatusListPath
	signer := tokenservice.Signer{Key: is.Key, KeyID: is.KeyID, Issuer: is.Issuer}
	list, err := tokenservice.OpenStatusList(filepath.Join(s.cfg.DataDir, "statuslist.json"), uri, signer)
	if err != nil {
		l.Close()
		return err
	}
	ls := &statusListServer{list: list, signer: signer, host: host, err: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.Handle(tokenservice.StatusListPath, list)
	ls.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ls.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			ls.err <- err
		}
	}()
	s.list = ls
	s.StatusListURL = uri
	s.revoker.AddSide(list)
	return nil
}

// errc reports a listener that stopped; nil (never ready) without a list.
func (ls *statusListServer) errc() <-chan error {
	if ls == nil {
		return nil
	}
	return ls.err
}

func (ls *statusListServer) close() {
	if ls != nil {
		_ = ls.srv.Close()
	}
}

//go:build !wired

package runtime

import (
	"context"
	"net/http"
)

type interimValidator struct{}

func (s *Server) newValidator() (tokenValidator, error) { return interimValidator{}, nil }
func (interimValidator) authenticate(ctx context.Context, h http.Header) (credential, *Fault, string) {
	if h.Get("Authorization") == "" {
		return nil, newFault(CodeMissingCredentials, ""), "missing"
	}
	return nil, newFault(CodeInvalidCredentials, ""), "x"
}
func (interimValidator) subscribed(c credential, apiName, apiVersion string) *Fault { return nil }
func (interimValidator) checksSubscriptions() bool                                  { return false }
func (s *Server) provisionSources() error {
	for _, ns := range s.opts.Sources {
		sr := &sourceRun{name: ns.Name, src: ns.Source}
		s.revocation.sources = append(s.revocation.sources, sr)
		if ns.Persistent {
			s.revocation.persistent = sr
		}
	}
	return nil
}

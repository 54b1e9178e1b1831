package runtime

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/micro-gw/micro-gw/pkg/statuslist"
)

// The Token Status List check (docs/revocation.md, "Token Status List"):
// after the revoked checks, a token with a status claim is refused unless
// its entry in its issuer's list is VALID. The lists are fetched and
// refreshed by a statuslist.Fetcher, run as one of the revocation sources;
// the request path asks the statuslist.Lists it feeds.

// CodeStatusListUnavailable refuses a token (503) whose status list cannot
// be fetched and has no usable copy: fail closed.
const CodeStatusListUnavailable = 900960

func init() {
	faults[CodeStatusListUnavailable] = faultInfo{http.StatusServiceUnavailable, "Token status list unavailable",
		"The status list of the access token could not be fetched; retry shortly"}
}

// statusCheck is the stage's state: the lists and their fetcher.
type statusCheck struct {
	lists   *statuslist.Lists
	fetcher *statuslist.Fetcher
}

// statusReferrer is a credential that may name a status list entry: a JWT.
type statusReferrer interface {
	statusReference() (statuslist.Reference, bool, error)
}

func (c *jwtCredential[K]) statusReference() (statuslist.Reference, bool, error) {
	var k K
	if !k.statusListed() {
		return statuslist.Reference{}, false, nil
	}
	return statuslist.ReadReference(c.Raw)
}

// provisionStatusList sets up the check when [statusList] is enabled.
func (s *Server) provisionStatusList() error {
	sl := s.cfg.StatusList
	if !sl.Enabled {
		return nil
	}
	client := s.opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: newTransport(s.roots)}
	}
	lists := statuslist.NewLists()
	f, err := statuslist.NewFetcher(statuslist.Config{
		AllowedHosts: sl.AllowedHosts,
		Client:       client,
		Verifier:     s.jwt, // a Status List Token is checked against the trusted token issuers
		Logger:       s.logger.With("source", "statuslist"),
		Registerer:   s.metrics.registry,
	}, lists)
	if err != nil {
		return s.cfg.Fault("statusList", err)
	}
	s.statusList = &statusCheck{lists: lists, fetcher: f}
	s.revocation.sources = append(s.revocation.sources, &sourceRun{name: "statuslist", src: f})
	return nil
}

// checkStatus answers 401 900901 for a token whose status list entry is
// not VALID (or cannot exist), and 503 900960 when its list cannot be had;
// absent when [statusList] is off. A list held answers with one map read
// and one byte read; the first token that names a list waits for its fetch.
func (s *Server) checkStatus(next stage) stage {
	sc := s.statusList
	if sc == nil {
		return next
	}
	return func(x *exchange, r *http.Request) {
		if x.route.resource.Secured {
			if f, reason := sc.check(r.Context(), x.cred); f != nil {
				s.logger.Debug("JWT Token is refused by its status list", "reason", reason, "jti", x.jti)
				s.metrics.authFailures.WithLabelValues(reason).Inc()
				x.fail(f)
				return
			}
		}
		next(x, r)
	}
}

// check returns the fault for cred, nil when it passes, and a fixed reason.
func (sc *statusCheck) check(ctx context.Context, cred credential) (*Fault, string) {
	rc, ok := cred.(statusReferrer)
	if !ok {
		return nil, ""
	}
	ref, has, err := rc.statusReference()
	if err != nil {
		return newFault(CodeInvalidCredentials, "The status claim of the access token cannot be read"), "status_claim"
	}
	if !has {
		return nil, ""
	}
	st, res := sc.lists.Status(ref)
	if res == statuslist.Missing {
		if err := sc.fetcher.Load(ctx, ref.URI); err != nil {
			if errors.Is(err, statuslist.ErrNotAllowed) {
				return newFault(CodeInvalidCredentials, "The status list of the access token is not on an allowed host"), "status_host"
			}
			return newFault(CodeStatusListUnavailable, ""), "status_unavailable"
		}
		if st, res = sc.lists.Status(ref); res == statuslist.Missing {
			return newFault(CodeStatusListUnavailable, ""), "status_unavailable"
		}
	}
	switch {
	case res == statuslist.OutOfRange:
		return newFault(CodeInvalidCredentials, "The status list of the access token has no such entry"), "status"
	case st != statuslist.Valid:
		return newFault(CodeInvalidCredentials, "The access token is no longer valid (token status list)"), "status"
	}
	return nil, ""
}

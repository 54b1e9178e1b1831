package tokenservice

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// RulesPath is where the development token service takes revocation rules.
const RulesPath = "/revoke/rules"

// RulesHandler takes revocation rules: POST a form with exactly one of
// subject=, client=, issuer= or email= (the kinds' names), and optionally issued_before= (RFC 3339 or
// epoch seconds; default now) and ttl= (seconds or a Go duration; default
// DefaultRuleTTL), with the same HTTP Basic client authentication as
// Handler. It answers
//   - 200 with the rule as JSON {"kind","key","issuedBefore","ttl"} once
//     every side has it;
//   - 400 {"error":"invalid_request"} for a form that names no rule or a bad one;
//   - 401 {"error":"invalid_client"} for bad or missing client credentials;
//   - 503 {"error":"temporarily_unavailable"} with Retry-After when a side failed.
type RulesHandler struct{ Endpoint }

// ServeHTTP serves RulesPath.
func (h *RulesHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log, ok := h.begin(w, r)
	if !ok {
		return
	}
	req, err := ruleRequestFromForm(r.PostForm.Get)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Revoker.RevokeRule(r.Context(), req)
	out := map[string]any{"kind": res.Rule.Kind.String(), "key": res.Rule.Key, "ttl": int64(res.Rule.TTL / time.Second)}
	if !res.Rule.IssuedBefore.IsZero() { // a certificate rule has no cut
		out["issuedBefore"] = res.Rule.IssuedBefore.Unix()
	}
	answer(w, log, res.Done, err, "revocation rule", out, "kind", req.Kind.String(), "key", req.Key)
}

// ruleRequestFromForm reads subject|client|issuer|email|certificate,
// issued_before and ttl.
func ruleRequestFromForm(get func(string) string) (RuleRequest, error) {
	var req RuleRequest
	var names []string
	for _, kind := range revocation.RuleKinds() {
		names = append(names, kind.String())
	}
	for _, kind := range revocation.RuleKinds() {
		v := strings.TrimSpace(get(kind.String()))
		if v == "" {
			continue
		}
		if req.Kind != revocation.RuleNone {
			return RuleRequest{}, errors.New("give exactly one of " + strings.Join(names, ", "))
		}
		req.Kind, req.Key = kind, v
	}
	if req.Kind == revocation.RuleNone {
		return RuleRequest{}, errors.New("give one of " + strings.Join(names, ", "))
	}
	var err error
	if v := strings.TrimSpace(get("issued_before")); v != "" {
		if req.IssuedBefore, err = ParseIssuedBefore(v); err != nil {
			return RuleRequest{}, fmt.Errorf("issued_before: %w", err)
		}
	}
	if v := strings.TrimSpace(get("ttl")); v != "" {
		if req.TTL, err = ParseTTL(v); err != nil {
			return RuleRequest{}, fmt.Errorf("ttl: %w", err)
		}
	}
	return req, nil
}

// ParseIssuedBefore reads the cut of a rule: RFC 3339 (2026-11-28T10:00:00Z)
// or epoch seconds.
func ParseIssuedBefore(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}, fmt.Errorf("%q is not a time after 1970", s)
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-28T10:00:00Z) or epoch seconds, got %q", s)
	}
	return t, nil
}

// ParseTTL reads a ttl: whole seconds (3600) or a Go duration (1h), at least
// one second and at most ten years, rounded up to whole seconds.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(revocation.MaxNoticeTTL/time.Second) {
			return 0, fmt.Errorf("%q is longer than ten years", s)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("want seconds (3600) or a duration (1h), got %q", s)
	}
	if d > revocation.MaxNoticeTTL {
		return 0, fmt.Errorf("%q is longer than ten years", s)
	}
	if d < time.Second {
		return 0, fmt.Errorf("must be at least 1 second, got %q", s)
	}
	return roundUpToSecond(d), nil
}

// TTLFlag is a --ttl flag (a pflag.Value): whole seconds, as the original's
// ttl, or a Go duration, read by ParseTTL.
type TTLFlag time.Duration

func (v *TTLFlag) String() string {
	if *v == 0 {
		return ""
	}
	return strconv.FormatInt(int64(time.Duration(*v)/time.Second), 10)
}

// Set implements pflag.Value.
func (v *TTLFlag) Set(s string) error {
	d, err := ParseTTL(s)
	if err != nil {
		return err
	}
	*v = TTLFlag(d)
	return nil
}

// Type implements pflag.Value.
func (v *TTLFlag) Type() string { return "ttl" }

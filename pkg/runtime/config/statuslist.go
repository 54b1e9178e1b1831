package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// StatusList is [statusList]: the gateway checks the status claim of
// tokens against the issuer's Token Status List (docs/revocation.md, "Token
// Status List").
type StatusList struct {
	Enabled bool `conf:"enabled"`
	// AllowedHosts are the only hosts lists are fetched from ("host", or
	// "host:port" for that port alone): a token must never make the gateway
	// fetch a URL of someone else's choosing.
	AllowedHosts []string `conf:"allowedHosts"`
}

// validateStatusList checks [statusList].
func (d *validator) validateStatusList() {
	sl := d.c.StatusList
	if sl.Enabled && len(sl.AllowedHosts) == 0 {
		d.fail("statusList.allowedHosts", errors.New("is required when enabled is true: name the hosts that serve your issuers' status lists"))
	}
	for i, h := range sl.AllowedHosts {
		if err := allowedHost(h); err != nil {
			d.fail(fmt.Sprintf("statusList.allowedHosts[%d]", i), err)
		}
	}
}

// allowedHost checks an allowedHosts entry: a host name or IP address,
// optionally with a port, nothing else.
func allowedHost(h string) error {
	if h == "" || strings.ContainsAny(h, "/?#@ *") {
		return fmt.Errorf("%q is not a host name such as \"idp.example.com\" or \"idp.example.com:8443\" (no scheme, path or wildcard)", h)
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if port == "" {
			return fmt.Errorf("%q has an empty port", h)
		}
		host = hh
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return fmt.Errorf("%q is not a host name such as \"idp.example.com\" or \"idp.example.com:8443\"", h)
	}
	return nil
}

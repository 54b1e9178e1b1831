package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/micro-gw/micro-gw/pkg/internal/loopback"
)

// Defaults of [ssfReceiver].
const (
	DefaultSSFDelivery     = "poll"
	DefaultSSFPollInterval = 2 * time.Second
	DefaultSSFPushListen   = "0.0.0.0:8245"
	DefaultSSFRuleTTL      = 24 * time.Hour
)

// SSFReceiver is [ssfReceiver]: what `micro-gw ssf-receiver` reads
// (docs/revocation.md, "Shared Signals"). The gateway itself does not use
// it; its keys are checked wherever the conf is loaded, and the ones the
// receiver requires by the receiver.
type SSFReceiver struct {
	// Transmitter is the transmitter's issuer URL; its configuration is at
	// /.well-known/ssf-configuration under it.
	Transmitter string `conf:"transmitter"`
	// AuthorizationHeader is sent on every call to the transmitter.
	AuthorizationHeader string `conf:"authorizationHeader,secret"`
	// Audience is the receiver's aud, expected in every SET.
	Audience string `conf:"audience"`
	// Delivery is "poll" (RFC 8936) or "push" (RFC 8935).
	Delivery     string        `conf:"delivery"`
	PollInterval time.Duration `conf:"pollInterval,ms"`
	// PushListen is the address of the push endpoint (HTTPS, the
	// listenerConfig certFile/keyFile).
	PushListen string `conf:"pushListen"`
	// PushEndpointURL is what the stream is created with.
	PushEndpointURL string `conf:"pushEndpointUrl"`
	// PushAuthorizationHeader is what the transmitter must send.
	PushAuthorizationHeader string `conf:"pushAuthorizationHeader,secret"`
	// RuleTTL is how long a rule made from an event holds.
	RuleTTL time.Duration `conf:"ruleTtl,s"`
}

// validateSSF checks what is set in [ssfReceiver]; which keys are required
// is the receiver's to say.
func (d *validator) validateSSF() {
	s := d.c.SSF
	if s.Transmitter != "" {
		if err := CheckTransmitterURL(s.Transmitter); err != nil {
			d.fail("ssfReceiver.transmitter", err)
		}
	}
	if s.Delivery != "poll" && s.Delivery != "push" {
		d.fail("ssfReceiver.delivery", fmt.Errorf("%q is not \"poll\" or \"push\"", s.Delivery))
	}
	if s.PollInterval < 100*time.Millisecond {
		d.fail("ssfReceiver.pollInterval", errors.New("must be at least 100 (milliseconds)"))
	}
	if s.RuleTTL < time.Second {
		d.fail("ssfReceiver.ruleTtl", errors.New("must be at least 1 (seconds): the longest lifetime of your tokens"))
	}
	if _, _, err := net.SplitHostPort(s.PushListen); err != nil {
		d.fail("ssfReceiver.pushListen", errors.New("must be host:port"))
	}
	if s.PushEndpointURL != "" {
		if err := CheckTransmitterURL(s.PushEndpointURL); err != nil {
			d.fail("ssfReceiver.pushEndpointUrl", err)
		}
	}
}

// CheckTransmitterURL checks a URL of the Shared Signals exchange: https, or
// plain http to a loopback address only.
func CheckTransmitterURL(s string) error {
	if err := httpURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.Scheme == "https" || loopback.Host(u.Hostname()) {
		return nil
	}
	return errors.New("must be an https:// URL (plain http is accepted for loopback addresses only)")
}

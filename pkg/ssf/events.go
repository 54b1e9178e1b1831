// Package ssf is the receiver side of the OpenID Shared Signals Framework
// (SSF 1.0, with CAEP 1.0 and RISC events) as `micro-gw ssf-receiver` runs
// it: the transmitter's configuration, the stream, delivery by push (RFC
// 8935) or poll (RFC 8936), the verification of each Security Event Token
// (RFC 8417) and the mapping of events to revocation rules, which it sends
// as `micro-gw revoke` does (docs/revocation.md, "Shared Signals").
package ssf

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// Event types: the ones that become a subject rule, and the stream's own.
const (
	EventSessionRevoked       = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	EventCredentialChange     = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
	EventAccountDisabled      = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	EventAccountPurged        = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
	EventCredentialCompromise = "https://schemas.openid.net/secevent/risc/event-type/credential-compromise"
	EventVerification         = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	EventStreamUpdated        = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
)

// RevokingEvents are the event types the receiver asks for and turns into
// rules.
var RevokingEvents = []string{EventSessionRevoked, EventCredentialChange, EventAccountDisabled, EventAccountPurged, EventCredentialCompromise}

// SET is a verified Security Event Token, read.
type SET struct {
	JTI string
	// Type is the one event's type; Payload its members.
	Type    string
	Payload map[string]any
	// Subject is sub_id (SSF 1.0) or, in older CAEP drafts, the event's
	// subject member; nil when neither is there.
	Subject map[string]any
	// Time is the event's event_timestamp, else the SET's iat.
	Time time.Time
}

// ErrInvalidSET is wrapped by the errors of ReadSET: RFC 8935's
// invalid_request.
var ErrInvalidSET = errors.New("invalid security event token")

// ReadSET reads the claims of a SET whose signature, iss and aud have been
// checked: jti, iat, exactly one event in events, its subject and time.
func ReadSET(claims map[string]any) (*SET, error) {
	s := &SET{}
	var ok bool
	if s.JTI, ok = claims["jti"].(string); !ok || s.JTI == "" || len(s.JTI) > 256 {
		return nil, fmt.Errorf("%w: no jti (a string of at most 256 bytes)", ErrInvalidSET)
	}
	iat, ok := seconds(claims["iat"])
	if !ok {
		return nil, fmt.Errorf("%w: no iat", ErrInvalidSET)
	}
	events, ok := claims["events"].(map[string]any)
	if !ok || len(events) != 1 {
		return nil, fmt.Errorf("%w: events must be an object with exactly one event", ErrInvalidSET)
	}
	for typ, p := range events {
		if typ == "" || len(typ) > 512 {
			return nil, fmt.Errorf("%w: the event type is empty or longer than 512 bytes", ErrInvalidSET)
		}
		s.Type = typ
		if s.Payload, ok = p.(map[string]any); !ok {
			return nil, fmt.Errorf("%w: the event's payload is not an object", ErrInvalidSET)
		}
	}
	if sub, present := claims["sub_id"]; present {
		if s.Subject, ok = sub.(map[string]any); !ok {
			return nil, fmt.Errorf("%w: sub_id is not an object", ErrInvalidSET)
		}
	} else if sub, present := s.Payload["subject"]; present {
		if s.Subject, ok = sub.(map[string]any); !ok {
			return nil, fmt.Errorf("%w: the event's subject is not an object", ErrInvalidSET)
		}
	}
	s.Time = time.Unix(iat, 0)
	if v, present := s.Payload["event_timestamp"]; present {
		ts, ok := seconds(v)
		if !ok {
			return nil, fmt.Errorf("%w: event_timestamp is not a time", ErrInvalidSET)
		}
		if ts > 1e11 {
			// Early CAEP drafts wrote milliseconds; no event is from the year 5138.
			ts /= 1000
		}
		s.Time = time.Unix(ts, 0)
	}
	return s, nil
}

// seconds reads a JSON number (json.Number or float64) of whole seconds.
func seconds(v any) (int64, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil {
			return 0, false
		}
	case float64:
		f = n
	default:
		return 0, false
	}
	if math.IsNaN(f) || f <= 0 || f > 1e15 {
		return 0, false
	}
	return int64(f), true
}

// Mapping is what an event becomes.
type Mapping struct {
	// Kind and Key name the rule; Kind is RuleNone when the event revokes
	// nothing (Reason says why).
	Kind   revocation.RuleKind
	Key    string
	Reason string
}

// MapSubject maps a subject identifier (RFC 9493) to the rule it asks
// for: iss_sub (its iss one of issuers, else "not ours") and opaque to a
// subject rule on sub, email to an email rule, complex by its user member.
// Other formats revoke nothing.
func MapSubject(sub map[string]any, issuers []string) Mapping {
	if sub == nil {
		return Mapping{Reason: "the event has no subject"}
	}
	format, _ := sub["format"].(string)
	str := func(name string) string { s, _ := sub[name].(string); return s }
	var m Mapping
	switch format {
	case "iss_sub":
		iss := str("iss")
		ours := false
		for _, i := range issuers {
			ours = ours || i == iss
		}
		if !ours {
			return Mapping{Reason: "the subject's iss is not an issuer of [[jwtTokenConfig]] (not ours)"}
		}
		m = Mapping{Kind: revocation.RuleSubject, Key: str("sub")}
	case "opaque":
		m = Mapping{Kind: revocation.RuleSubject, Key: str("id")}
	case "email":
		m = Mapping{Kind: revocation.RuleEmail, Key: str("email")}
	case "complex":
		user, ok := sub["user"].(map[string]any)
		if !ok {
			return Mapping{Reason: "a complex subject without a user"}
		}
		if f, _ := user["format"].(string); f == "complex" {
			return Mapping{Reason: "a complex subject nested in a complex subject"}
		}
		return MapSubject(user, issuers)
	default:
		return Mapping{Reason: fmt.Sprintf("subject format %.40q is not mapped to a rule", format)}
	}
	if err := revocation.ValidateRuleNotice(revocation.RuleNotice{Kind: m.Kind, Key: m.Key, IssuedBefore: time.Unix(1, 0)}); err != nil {
		return Mapping{Reason: "the subject cannot be a rule's key: " + err.Error()}
	}
	return m
}

package revocation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits on a revocation message. A notice is small; anything near these
// bounds is garbage or an attack, and is dropped.
const (
	// MaxJTILength is the longest jti accepted, in bytes.
	MaxJTILength = 1024
	// MaxNoticeSize bounds the body and the revokedToken header of a
	// message (a whole JWT with many claims fits easily).
	MaxNoticeSize = 64 << 10
	// MaxNoticeTTL is the longest ttl kept as a time. A longer ttl (the
	// publisher's way of saying "for good") is kept as no expiry.
	MaxNoticeTTL = 10 * 365 * 24 * time.Hour
)

// ErrInvalidNotice is wrapped by every error of DecodeMessage. Its messages
// say what is wrong with the message, never what the token was.
var ErrInvalidNotice = errors.New("invalid revocation message")

// Notice is one revocation as it travels over a broker.
type Notice struct {
	// JTI is the jti claim of the revoked token.
	JTI string
	// TTL is how long the revocation must hold, counted from when it is
	// received. Zero means no expiry: the message carried no ttl and no
	// token expiry to derive one from.
	TTL time.Duration
}

// noticeFields is the flat form {"revokedToken": "...", "ttl": "3600"}, and
// also the payloadData of the WSO2 event form.
type noticeFields struct {
	RevokedToken json.RawMessage `json:"revokedToken"`
	TTL          json.RawMessage `json:"ttl"`
	// The rule forms (rules_message.go).
	RevokedSubject json.RawMessage `json:"revokedSubject"`
	RevokedClient  json.RawMessage `json:"revokedClient"`
	RevokedIssuer  json.RawMessage `json:"revokedIssuer"`
	RevokedEmail   json.RawMessage `json:"revokedEmail"` // rules_email.go
	// RevokedCertificate is a certificate rule (rules_certificate.go).
	RevokedCertificate json.RawMessage `json:"revokedCertificate"`
	IssuedBefore       json.RawMessage `json:"issuedBefore"`
	// The blocking condition (blocking_message.go).
	BlockingCondition json.RawMessage `json:"blockingCondition"`
}

// isBlock reports whether f is a blocking condition rather than a token or a rule.
func (f *noticeFields) isBlock() bool {
	return f.RevokedToken == nil && !f.isRule() && f.BlockingCondition != nil && string(f.BlockingCondition) != "null"
}

// isRule reports whether f names a rule rather than a token.
func (f *noticeFields) isRule() bool {
	if f.RevokedToken != nil {
		return false
	}
	for _, k := range RuleKinds() {
		if *k.spec().fieldOf(f) != nil {
			return true
		}
	}
	return false
}

type noticeJSON struct {
	noticeFields
	Event *struct {
		PayloadData *noticeFields `json:"payloadData"`
	} `json:"event"`
	Map *jmsMapJSON `json:"map"`
}

// jmsMapJSON is a JMS MapMessage as ActiveMQ delivers it to a STOMP
// subscription with transformation jms-map-json (XStream through Jettison):
//
//	{"map":{"entry":[{"string":["revokedToken","abc"]},{"string":["ttl",3600]}]}}
//	{"map":{"entry":{"string":["revokedToken","abc"]}}}         one entry: no array
//	{"map":{"entry":[{"string":"ttl","int":3600}]}}             a value that is no String
//
// The original token service publishes its revocations as MapMessages, and
// without the transformation ActiveMQ hands a STOMP subscriber an empty body:
// this form is the only one in which they arrive. Jettison writes a String
// value that looks like a number or a boolean without quotes ("3600" as
// 3600), so a scalar value is read as its text, as JMS's getString reads any
// primitive.
type jmsMapJSON struct {
	Entry json.RawMessage `json:"entry"`
}

// fields reads the entries the decoder knows into the fields of the flat
// form, each value as a JSON string, so that one decoder checks every form.
// Other entries are ignored, as the flat form ignores other fields.
func (m *jmsMapJSON) fields() (noticeFields, error) {
	var f noticeFields
	var entries []map[string]json.RawMessage
	switch e := bytes.TrimSpace(m.Entry); {
	case len(e) > 0 && e[0] == '[':
		if json.Unmarshal(e, &entries) != nil {
			return f, fmt.Errorf("%w: map.entry is not an array of objects", ErrInvalidNotice)
		}
	case len(e) > 0 && e[0] == '{':
		entries = make([]map[string]json.RawMessage, 1)
		if json.Unmarshal(e, &entries[0]) != nil {
			return f, fmt.Errorf("%w: map.entry is not an object", ErrInvalidNotice)
		}
	default:
		return f, fmt.Errorf("%w: map without entries", ErrInvalidNotice)
	}
	dst := map[string]*json.RawMessage{
		"revokedToken": &f.RevokedToken, "ttl": &f.TTL, "issuedBefore": &f.IssuedBefore,
	}
	for _, k := range RuleKinds() {
		dst[k.spec().field] = k.spec().fieldOf(&f)
	}
	for _, e := range entries {
		key, val, err := jmsMapEntry(e)
		if err != nil {
			return noticeFields{}, err
		}
		d, ok := dst[key]
		if !ok {
			continue
		}
		if *d != nil {
			return noticeFields{}, fmt.Errorf("%w: map has %s twice", ErrInvalidNotice, key)
		}
		if *d, err = jmsMapValue(key, val); err != nil {
			return noticeFields{}, err
		}
	}
	return f, nil
}

// jmsMapEntry splits one entry: {"string":[key, value]} when the value is a
// String, else {"string": key, "<type>": value}. A key that is no JSON
// string names no field of ours, and comes back as "".
func jmsMapEntry(e map[string]json.RawMessage) (key string, val json.RawMessage, err error) {
	k, ok := e["string"]
	if !ok {
		return "", nil, fmt.Errorf("%w: map entry without a string key", ErrInvalidNotice)
	}
	if k = bytes.TrimSpace(k); len(k) > 0 && k[0] == '[' {
		var pair []json.RawMessage
		if json.Unmarshal(k, &pair) != nil || len(pair) != 2 || len(e) != 1 {
			return "", nil, fmt.Errorf("%w: map entry is not a key and a value", ErrInvalidNotice)
		}
		k, val = pair[0], pair[1]
	} else {
		if len(e) != 2 {
			return "", nil, fmt.Errorf("%w: map entry is not a key and a value", ErrInvalidNotice)
		}
		for t, v := range e {
			if t != "string" {
				val = v
			}
		}
	}
	if json.Unmarshal(k, &key) != nil {
		return "", val, nil
	}
	return key, val, nil
}

// jmsMapValue returns a scalar value as a JSON string: a string as it is, a
// number or boolean as its text.
func jmsMapValue(key string, v json.RawMessage) (json.RawMessage, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || v[0] == '{' || v[0] == '[' || string(v) == "null":
		return nil, fmt.Errorf("%w: map value of %s is not a string, number or boolean", ErrInvalidNotice, key)
	case v[0] == '"':
		return v, nil
	default:
		s, _ := json.Marshal(string(v)) // a string always marshals
		return s, nil
	}
}

// Message is one message of the revocation topic: a token revocation
// (Notice) or, when Rule.Kind is not RuleNone, a revocation rule, or, when
// Block.Kind is not BlockNone, a blocking condition.
type Message struct {
	Notice Notice
	Rule   RuleNotice
	Block  BlockNotice
}

// DecodeMessage reads a message of the revocation topic in any form the
// token service may publish (see docs/revocation.md), a token revocation:
//
//	{"revokedToken": "<jti or JWT>", "ttl": "3600"}            ttl a string or a number
//	{"event": {"payloadData": {"revokedToken": "...", "ttl": "..."}}}
//	{"map": {"entry": [{"string": ["revokedToken", "..."]}, ...]}}  a JMS MapMessage (jmsMapJSON)
//	an empty body, with revokedToken and ttl as message headers
//
// header looks up a message header (STOMP header, AMQP header table entry);
// it may be nil. A revokedToken that is a whole JWT is keyed by the jti claim
// of its payload (ReadRevokedToken), which is read without verifying the
// signature: the message's authority comes from the broker, and a forged JWT
// could only revoke the jti it names. When such a message has no ttl, the TTL
// is the time left until the token's exp.
//
// A missing (or empty) ttl otherwise means no expiry: the revocation holds
// until the gateway restarts. A revocation that lapses while its token may
// still be valid would let a revoked token through, so the safe reading of
// "no ttl" is "for as long as we run". The set holds such an entry in about
// 40 bytes.
//
// Or a revocation rule:
//
//	{"revokedSubject": "alice", "issuedBefore": 1764300000, "ttl": 86400}
//	{"revokedClient": "...", ...}, {"revokedIssuer": "...", ...}
//	{"event": {"payloadData": {"revokedSubject": ...}}}
//	{"map": {"entry": [{"string": ["revokedSubject", "alice"]}, ...]}}
//	an empty body, with revokedSubject (or revokedClient, revokedIssuer),
//	issuedBefore and ttl as message headers
//
// Or a blocking condition (blocking_message.go, docs/traffic.md):
//
//	{"blockingCondition": {"type": "ip", "value": "203.0.113.7", "enabled": true, "ttl": 3600}}
//	{"event": {"payloadData": {"blockingCondition": {...}}}}
func DecodeMessage(body []byte, header func(string) (string, bool)) (Message, error) {
	return decodeMessageAt(body, header, time.Now())
}

func decodeMessageAt(body []byte, header func(string) (string, bool), now time.Time) (Message, error) {
	if len(body) <= MaxNoticeSize {
		if f, ok := blockingFields(body); ok {
			b, err := decodeBlockFields(f)
			return Message{Block: b}, err
		}
	}
	n, rule, err := decodeMessageParts(body, header, now)
	return Message{Notice: n, Rule: rule}, err
}

// blockingFields returns the fields of a JSON body that holds a blocking
// condition (flat or WSO2 event form), ok false for any other body.
func blockingFields(body []byte) (*noticeFields, bool) {
	if !bytes.Contains(body, []byte("blockingCondition")) {
		return nil, false
	}
	var m noticeJSON
	if json.Unmarshal(body, &m) != nil {
		return nil, false // the token decoder says what is wrong
	}
	if m.isBlock() {
		return &m.noticeFields, true
	}
	if m.RevokedToken == nil && !m.isRule() && m.Event != nil && m.Event.PayloadData != nil && m.Event.PayloadData.isBlock() {
		return m.Event.PayloadData, true
	}
	return nil, false
}

func decodeMessageParts(body []byte, header func(string) (string, bool), now time.Time) (Notice, RuleNotice, error) {
	if len(body) > MaxNoticeSize {
		return Notice{}, RuleNotice{}, fmt.Errorf("%w: body of %d bytes is larger than %d", ErrInvalidNotice, len(body), MaxNoticeSize)
	}
	var token, ttl string
	var tokenSet, ttlSet bool
	if len(bytes.TrimSpace(body)) == 0 {
		if header == nil {
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: empty body and no headers", ErrInvalidNotice)
		}
		token, tokenSet = header("revokedToken")
		ttl, ttlSet = header("ttl")
		if !tokenSet {
			if f, ok, err := ruleHeaders(header); err != nil {
				return Notice{}, RuleNotice{}, err
			} else if ok {
				r, err := decodeRuleFields(&f)
				return Notice{}, r, err
			}
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: empty body and no revokedToken header", ErrInvalidNotice)
		}
		if len(token) > MaxNoticeSize {
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: revokedToken header of %d bytes is larger than %d", ErrInvalidNotice, len(token), MaxNoticeSize)
		}
	} else {
		var m noticeJSON
		if err := json.Unmarshal(body, &m); err != nil {
			// The decoder's message can quote the input; keep only its kind.
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: body is not a JSON object (%s)", ErrInvalidNotice, noticeJSONErrorKind(err))
		}
		f := m.noticeFields
		if f.RevokedToken == nil && !f.isRule() && m.Event != nil && m.Event.PayloadData != nil {
			f = *m.Event.PayloadData
		} else if f.RevokedToken == nil && !f.isRule() && m.Map != nil {
			var err error
			if f, err = m.Map.fields(); err != nil {
				return Notice{}, RuleNotice{}, err
			}
		}
		if f.isRule() {
			r, err := decodeRuleFields(&f)
			return Notice{}, r, err
		}
		if f.RevokedToken == nil {
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: no revokedToken field (flat, event.payloadData or map.entry)", ErrInvalidNotice)
		}
		if err := json.Unmarshal(f.RevokedToken, &token); err != nil {
			return Notice{}, RuleNotice{}, fmt.Errorf("%w: revokedToken is not a JSON string", ErrInvalidNotice)
		}
		tokenSet = true
		if f.TTL != nil && string(f.TTL) != "null" {
			ttlSet = true
			if f.TTL[0] == '"' {
				if err := json.Unmarshal(f.TTL, &ttl); err != nil {
					return Notice{}, RuleNotice{}, fmt.Errorf("%w: ttl is not a valid JSON string", ErrInvalidNotice)
				}
			} else {
				ttl = string(f.TTL) // a number (or garbage that parseNoticeTTL refuses)
			}
		}
	}

	tok, err := ReadRevokedToken(token)
	if err != nil {
		return Notice{}, RuleNotice{}, err
	}
	n := Notice{JTI: tok.JTI}
	if ttlSet && strings.TrimSpace(ttl) == "" {
		// An empty ttl (an empty header from a bridge) is no ttl; refusing
		// the whole revocation over it would be the worst reading.
		ttlSet = false
	}
	if ttlSet {
		if n.TTL, err = parseNoticeTTL(ttl); err != nil {
			return Notice{}, RuleNotice{}, err
		}
	} else if until := tok.Until(); !until.IsZero() {
		left := until.Sub(now)
		switch {
		case left > MaxNoticeTTL:
			n.TTL = 0
		case left < time.Second:
			// Expired already: nothing can use the token, but keep it
			// refused for a moment in case our clock is behind.
			n.TTL = time.Second
		default:
			n.TTL = left.Round(time.Second)
		}
	}
	return n, RuleNotice{}, nil
}

// ExpiryLeeway is how long past its exp (and before its nbf) a gateway still
// accepts a token: the WSO2 gateway's 60 s of clock skew. A revocation that
// runs to a token's expiry must run this much longer, or the token would be
// accepted again in between.
const ExpiryLeeway = 60 * time.Second

// noticeJSONErrorKind names the kind of a JSON decoding error without any of
// the input (a SyntaxError's message quotes a character; a type error names
// the value).
func noticeJSONErrorKind(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "syntax error at offset " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "wrong type at offset " + strconv.FormatInt(typ.Offset, 10)
	default:
		return "malformed"
	}
}

// parseNoticeTTL reads a ttl: a positive integer of seconds, written as
// decimal digits (a JSON number or a string holding one, spaces around
// allowed). Above MaxNoticeTTL it means no expiry.
func parseNoticeTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: empty ttl", ErrInvalidNotice)
	}
	if len(s) > 32 {
		return 0, fmt.Errorf("%w: ttl is not a positive integer of seconds", ErrInvalidNotice)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: ttl %q is not a positive integer of seconds", ErrInvalidNotice, s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > uint64(MaxNoticeTTL/time.Second) {
		return 0, nil // digits beyond the bound: for good
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: ttl must be at least 1 second", ErrInvalidNotice)
	}
	return time.Duration(n) * time.Second, nil
}

// EncodeNotice writes n in the flat form, ttl as a string of whole seconds
// (rounded up) as the original token service did; a zero TTL is left out,
// which DecodeMessage reads as no expiry.
func EncodeNotice(n Notice) []byte {
	m := map[string]string{"revokedToken": n.JTI}
	if n.TTL > 0 {
		secs := int64((n.TTL + time.Second - 1) / time.Second)
		m["ttl"] = strconv.FormatInt(secs, 10)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("revocation: cannot encode a map of strings: " + err.Error())
	}
	return b
}

package ssf

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/tokenservice"
)

// SETType is the typ header of a Security Event Token (RFC 8417).
const SETType = "secevent+jwt"

// PushPath is where the receiver takes pushed SETs.
const PushPath = "/ssf/events"

// maxSET bounds a pushed SET.
const maxSET = 64 << 10

// RuleRevoker is what the receiver revokes through: a tokenservice.Revoker,
// which answers only once every side (broker, etcd) has the rule.
type RuleRevoker interface {
	RevokeRule(ctx context.Context, req tokenservice.RuleRequest) (tokenservice.RuleResult, error)
}

// Config is what a Receiver needs.
type Config struct {
	SSF config.SSFReceiver
	// Issuers are the [[jwtTokenConfig]] issuers: an iss_sub subject of
	// another issuer is not ours.
	Issuers []string
	State   *State
	// HTTP calls the transmitter (and fetches its keys).
	HTTP    *http.Client
	Revoker RuleRevoker
	Logger  *slog.Logger
}

// Receiver is one stream of one transmitter.
type Receiver struct {
	cfg    Config
	client *Client
	log    *slog.Logger
	// set is what Setup found, nil before: pushed SETs that arrive before
	// it (a verification event) get 503 and come again.
	set atomic.Pointer[setup]
}

// setup is the transmitter and stream as Setup found them.
type setup struct {
	meta *Metadata
	keys *auth.KeySet
	// verifyState is the state of the verification event asked for.
	verifyState string
	// poll is the stream's poll endpoint.
	poll string
}

// NewReceiver checks cfg; nothing is called until Setup.
func NewReceiver(cfg Config) (*Receiver, error) {
	if cfg.SSF.Transmitter == "" {
		return nil, errors.New("ssfReceiver.transmitter is required")
	}
	if cfg.SSF.Audience == "" {
		return nil, errors.New("ssfReceiver.audience is required: every SET must name this receiver")
	}
	if cfg.SSF.Delivery == "push" && cfg.SSF.PushEndpointURL == "" {
		return nil, errors.New("ssfReceiver.pushEndpointUrl is required with delivery = \"push\"")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	check := func(u string) error {
		if err := config.CheckTransmitterURL(u); err != nil {
			return fmt.Errorf("%s: %w", redact(u), err)
		}
		return nil
	}
	return &Receiver{cfg: cfg, log: cfg.Logger,
		client: &Client{HTTP: cfg.HTTP, Authorization: cfg.SSF.AuthorizationHeader, CheckURL: check}}, nil
}

// Setup reads the transmitter's configuration, reuses the stream of the
// state file when the transmitter still has it with the same delivery, or
// creates one, and asks for a verification event.
func (r *Receiver) Setup(ctx context.Context) error {
	s := r.cfg.SSF
	meta, err := r.client.Discover(ctx, s.Transmitter)
	if err != nil {
		return err
	}
	if err := r.client.CheckURL(meta.JWKSURI); err != nil {
		return fmt.Errorf("jwks_uri: %w", err)
	}
	su := &setup{meta: meta, keys: auth.NewKeySet(meta.JWKSURI, r.cfg.HTTP, r.log)}
	want := Delivery{Method: DeliveryPoll}
	if s.Delivery == "push" {
		want = Delivery{Method: DeliveryPush, EndpointURL: s.PushEndpointURL, AuthorizationHeader: s.PushAuthorizationHeader}
	}
	st := r.cfg.State
	var stream *Stream
	if st.StreamID != "" && st.Transmitter == s.Transmitter && st.Delivery == want.Method &&
		(want.Method == DeliveryPoll || st.Endpoint == want.EndpointURL) {
		found, ok, err := r.client.GetStream(ctx, meta, st.StreamID)
		if err != nil {
			return fmt.Errorf("read the stream: %w", err)
		}
		if ok && found.Delivery.Method == want.Method {
			stream = found
			r.log.Info("reusing the stream", "stream_id", stream.StreamID)
		}
	}
	if stream == nil {
		if stream, err = r.client.CreateStream(ctx, meta, want, RevokingEvents); err != nil {
			return err
		}
		r.log.Info("stream created", "stream_id", stream.StreamID, "delivery", want.Method)
	}
	endpoint := want.EndpointURL
	if want.Method == DeliveryPoll {
		if endpoint = stream.Delivery.EndpointURL; endpoint == "" {
			return errors.New("the transmitter gave the poll stream no endpoint_url")
		}
		if err := r.client.CheckURL(endpoint); err != nil {
			return fmt.Errorf("poll endpoint_url: %w", err)
		}
		su.poll = endpoint
	}
	if err := st.setStream(s.Transmitter, stream.StreamID, want.Method, endpoint); err != nil {
		return err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	su.verifyState = hex.EncodeToString(b)
	r.set.Store(su)
	if err := r.client.RequestVerification(ctx, meta, stream.StreamID, su.verifyState); err != nil {
		r.log.Warn("could not ask for a verification event", "error", err)
	}
	return nil
}

// outcome is what handling one SET came to.
type outcome struct {
	// ack: acknowledge (push 202, poll ack).
	ack bool
	// setErr: refuse the SET (push 400, poll setErrs).
	setErr *SetError
	// err: the revocation could not be stored; neither acknowledge nor
	// refuse, so that the transmitter delivers it again.
	err error
}

// handle verifies, maps and applies one SET.
func (r *Receiver) handle(ctx context.Context, token string, pollAck bool) outcome {
	su := r.set.Load()
	if su == nil {
		return outcome{err: errors.New("the receiver is not set up yet")}
	}
	claims, err := su.keys.Verify(ctx, token, SETType, su.meta.Issuer)
	switch {
	case errors.Is(err, auth.ErrIssuerMismatch):
		return outcome{setErr: &SetError{"invalid_issuer", "the SET's iss is not the transmitter"}}
	case errors.Is(err, auth.ErrUnknownKey), errors.Is(err, auth.ErrBadSignature):
		return outcome{setErr: &SetError{"invalid_key", "the SET's signature does not verify with the transmitter's keys"}}
	case err != nil:
		return outcome{setErr: &SetError{"invalid_request", "the SET cannot be read: " + err.Error()}}
	}
	if !hasAudience(claims["aud"], r.cfg.SSF.Audience) {
		return outcome{setErr: &SetError{"invalid_audience", "the SET's aud is not this receiver"}}
	}
	set, err := ReadSET(claims)
	if err != nil {
		return outcome{setErr: &SetError{"invalid_request", err.Error()}}
	}
	if r.cfg.State.applied(set.JTI) {
		r.log.Debug("event delivered again; acknowledged, not applied twice", "jti", set.JTI)
		if err := r.cfg.State.markApplied(set.JTI, pollAck); err != nil {
			return outcome{err: err}
		}
		return outcome{ack: true}
	}
	log := r.log.With("jti", set.JTI, "event", set.Type)
	switch {
	case set.Type == EventVerification:
		if st, _ := set.Payload["state"].(string); st != "" && st == su.verifyState {
			log.Info("stream verified: the transmitter's verification event arrived")
		} else {
			log.Info("verification event (not the one this run asked for)")
		}
	case set.Type == EventStreamUpdated:
		log.Warn("the transmitter updated the stream", "status", set.Payload["status"], "reason", set.Payload["reason"])
	case slices.Contains(RevokingEvents, set.Type):
		m := MapSubject(set.Subject, r.cfg.Issuers)
		if m.Kind == 0 {
			log.Warn("event acknowledged without a revocation", "reason", m.Reason)
			break
		}
		res, err := r.cfg.Revoker.RevokeRule(ctx, tokenservice.RuleRequest{Kind: m.Kind, Key: m.Key,
			// The event's own second is cut too: a token issued in it
			// belongs to the session the event ends.
			IssuedBefore: set.Time.Add(time.Second), TTL: r.cfg.SSF.RuleTTL})
		if err != nil {
			log.Error("revocation from an event not stored everywhere; not acknowledged (it will come again)", "error", err)
			return outcome{err: err}
		}
		for _, line := range res.Done {
			log.Info(line)
		}
	default:
		return outcome{setErr: &SetError{"invalid_request", "event type not supported by this receiver"}}
	}
	if err := r.cfg.State.markApplied(set.JTI, pollAck); err != nil {
		return outcome{err: err}
	}
	return outcome{ack: true}
}

// hasAudience reports whether aud (a string or an array of strings) names want.
func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if s, _ := v.(string); s == want {
				return true
			}
		}
	}
	return false
}

// ServeHTTP is the push endpoint (RFC 8935): 202 once the event's
// revocation is stored; 400 with {"err","description"} for a SET that is
// refused (nothing changes); 401 without the expected Authorization; 503
// when the revocation could not be stored (the transmitter retries).
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	if want := r.cfg.SSF.PushAuthorizationHeader; want != "" &&
		subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), []byte(want)) != 1 {
		writeSetErr(w, http.StatusUnauthorized, SetError{"authentication_failed", "the Authorization header is missing or wrong"})
		return
	}
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/secevent+jwt" {
		writeSetErr(w, http.StatusBadRequest, SetError{"invalid_request", "the body must be application/secevent+jwt"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxSET+1))
	if err != nil || len(body) > maxSET {
		writeSetErr(w, http.StatusBadRequest, SetError{"invalid_request", "the body cannot be read or is too large"})
		return
	}
	out := r.handle(req.Context(), string(trimSpace(body)), false)
	switch {
	case out.setErr != nil:
		r.log.Warn("SET refused", "err", out.setErr.Err, "description", out.setErr.Description)
		writeSetErr(w, http.StatusBadRequest, *out.setErr)
	case out.err != nil:
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the revocation could not be stored; deliver the SET again", http.StatusServiceUnavailable)
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\r' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func writeSetErr(w http.ResponseWriter, status int, e SetError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// PollOnce polls the stream once: it sends the pending acknowledgements and
// the errors of refused SETs, then handles what came. It reports whether
// the transmitter has more.
func (r *Receiver) PollOnce(ctx context.Context, errs map[string]SetError) (more bool, next map[string]SetError, err error) {
	su := r.set.Load()
	if su == nil || su.poll == "" {
		return false, errs, errors.New("the receiver has no poll stream set up")
	}
	acks := r.cfg.State.pending()
	resp, err := r.client.Poll(ctx, su.poll, PollRequest{MaxEvents: 100, ReturnImmediately: true, Ack: acks, SetErrs: errs})
	if err != nil {
		return false, errs, err
	}
	if err := r.cfg.State.acked(acks); err != nil {
		return false, nil, err
	}
	next = map[string]SetError{}
	for jti, tok := range resp.Sets {
		out := r.handle(ctx, tok, true)
		switch {
		case out.setErr != nil:
			r.log.Warn("SET refused", "jti", jti, "err", out.setErr.Err, "description", out.setErr.Description)
			next[jti] = *out.setErr
		case out.err != nil:
			// Neither acknowledged nor refused: delivered again.
		}
	}
	return resp.MoreAvailable, next, nil
}

// RunPoll polls every pollInterval (at once while the transmitter has
// more) until ctx is done; a failed poll is logged and retried.
func (r *Receiver) RunPoll(ctx context.Context) error {
	var errs map[string]SetError
	failing := false
	for {
		more, next, err := r.PollOnce(ctx, errs)
		errs = next
		if err != nil && ctx.Err() == nil {
			if !failing {
				r.log.Warn("poll failed; retrying", "error", err)
			}
			failing = true
		} else if failing && err == nil {
			r.log.Info("poll works again")
			failing = false
		}
		if more && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(r.cfg.SSF.PollInterval):
		}
	}
}

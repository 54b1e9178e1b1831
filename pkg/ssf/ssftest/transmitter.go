// Package ssftest is a Shared Signals transmitter for tests, built from the
// examples of the specifications (SSF 1.0, CAEP 1.0, RFC 8935 and 8936):
// its configuration, keys, stream management, verification, poll and push.
package ssftest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/ssf"
)

// T is what the transmitter needs of a test: *testing.T, or an adapter
// (the bench's propagation tool).
type T interface {
	Helper()
	Fatal(args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Transmitter is an SSF 1.0 transmitter as the specifications' own
// examples describe it: its configuration at /.well-known/ssf-configuration,
// its keys at jwks_uri, the stream management API (create, read), the
// verification endpoint, and RFC 8936 polling (SETs by jti, acks, setErrs)
// or RFC 8935 pushing to the stream's endpoint_url.
type Transmitter struct {
	*httptest.Server
	Key   *rsa.PrivateKey
	Other *rsa.PrivateKey // a key that is not in the JWKS
	// PushClient makes the pushes (nil: http.DefaultClient); a test whose
	// receiver serves HTTPS with a certificate of its own sets one that
	// trusts it, as a real transmitter trusts the receiver's endpoint.
	PushClient *http.Client
	aud        string

	mu       sync.Mutex
	streams  map[string]ssf.Stream
	created  int
	queue    map[string]string // poll: SETs not acknowledged
	acked    []string
	setErrs  map[string]ssf.SetError
	pushAuth string
	states   []string // verification states asked for
	pushURL  string
	pushed   map[string]int // push: the receiver's answer to each SET, by jti
}

// NewTransmitter starts a transmitter whose SETs carry aud; it stops when the test ends.
func NewTransmitter(t T, aud string) *Transmitter {
	t.Helper()
	tx := &Transmitter{aud: aud, streams: map[string]ssf.Stream{}, queue: map[string]string{}, setErrs: map[string]ssf.SetError{},
		pushed: map[string]int{}}
	var err error
	if tx.Key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if tx.Other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/ssf-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"spec_version": "1_0", "issuer": tx.URL, "jwks_uri": tx.URL + "/jwks",
			"delivery_methods_supported": []string{ssf.DeliveryPush, ssf.DeliveryPoll},
			"configuration_endpoint":     tx.URL + "/ssf/stream", "verification_endpoint": tx.URL + "/ssf/verify",
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{authtest.JWK(&tx.Key.PublicKey, "tx-1")}})
	})
	mux.HandleFunc("/ssf/stream", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tx-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		tx.mu.Lock()
		defer tx.mu.Unlock()
		switch r.Method {
		case http.MethodPost:
			var s ssf.Stream
			if json.NewDecoder(r.Body).Decode(&s) != nil {
				http.Error(w, "bad", http.StatusBadRequest)
				return
			}
			tx.created++
			s.StreamID = fmt.Sprintf("f67e39a0a4d34d56b3aa1bc4cff0069f-%d", tx.created)
			s.Issuer, s.Audience, s.EventsDelivered = tx.URL, tx.aud, s.EventsRequested
			if s.Delivery.Method == ssf.DeliveryPoll {
				s.Delivery.EndpointURL = tx.URL + "/ssf/poll/" + s.StreamID
			} else {
				tx.pushURL, tx.pushAuth = s.Delivery.EndpointURL, s.Delivery.AuthorizationHeader
			}
			tx.streams[s.StreamID] = s
			writeJSON(w, http.StatusCreated, s)
		case http.MethodGet:
			s, ok := tx.streams[r.URL.Query().Get("stream_id")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			writeJSON(w, http.StatusOK, s)
		}
	})
	mux.HandleFunc("POST /ssf/verify", func(w http.ResponseWriter, r *http.Request) {
		var v struct{ StreamID, State string }
		_ = json.NewDecoder(r.Body).Decode(&v)
		tx.mu.Lock()
		tx.states = append(tx.states, v.State)
		tx.mu.Unlock()
		tx.Deliver(t, tx.Set(t, "verify-"+v.State, ssf.EventVerification, map[string]any{"state": v.State},
			map[string]any{"format": "opaque", "id": v.StreamID}, nil))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /ssf/poll/", func(w http.ResponseWriter, r *http.Request) {
		var req ssf.PollRequest
		if json.NewDecoder(r.Body).Decode(&req) != nil || r.Header.Get("Authorization") != "Bearer tx-token" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		tx.mu.Lock()
		defer tx.mu.Unlock()
		for _, a := range req.Ack {
			delete(tx.queue, a)
			tx.acked = append(tx.acked, a)
		}
		for jti, e := range req.SetErrs {
			delete(tx.queue, jti)
			tx.setErrs[jti] = e
		}
		writeJSON(w, http.StatusOK, ssf.PollResponse{Sets: maps(tx.queue)})
	})
	tx.Server = httptest.NewServer(mux)
	t.Cleanup(tx.Close)
	return tx
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// SetOpt changes a SET before it is signed: claims, the signing key.
type SetOpt func(c jwt.MapClaims, key **rsa.PrivateKey)

// set signs a SET in the form of the CAEP 1.0 examples: iss, jti, iat,
// aud, sub_id and one event.
func (tx *Transmitter) Set(t T, jti, event string, payload, subID map[string]any, opt SetOpt) string {
	t.Helper()
	c := jwt.MapClaims{"iss": tx.URL, "jti": jti, "iat": time.Now().Unix(), "aud": tx.aud, "txn": "8675309",
		"events": map[string]any{event: payload}}
	if subID != nil {
		c["sub_id"] = subID
	}
	key := tx.Key
	if opt != nil {
		opt(c, &key)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"], tok.Header["typ"] = "tx-1", ssf.SETType
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deliver queues a SET for polling, or pushes it to the stream's endpoint.
func (tx *Transmitter) Deliver(t T, set string) {
	tx.mu.Lock()
	push, auth := tx.pushURL, tx.pushAuth
	tx.mu.Unlock()
	if push == "" {
		tx.mu.Lock()
		tx.queue[jtiOf(set)] = set
		tx.mu.Unlock()
		return
	}
	go tx.Push(t, push, auth, set)
}

// push POSTs a SET as RFC 8935 says and records the answer's status.
func (tx *Transmitter) Push(t T, url, auth, set string) int {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader([]byte(set)))
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := tx.PushClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("push: %v", err)
		return 0
	}
	resp.Body.Close()
	tx.mu.Lock()
	tx.pushed[jtiOf(set)] = resp.StatusCode
	tx.mu.Unlock()
	return resp.StatusCode
}

// jtiOf is the jti of a SET this transmitter made.
func jtiOf(set string) string {
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(set, claims)
	jti, _ := claims["jti"].(string)
	return jti
}

// Pushed is the receiver's answer to the last push of the SET jti, 0
// before one came (push).
func (tx *Transmitter) Pushed(jti string) int {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.pushed[jti]
}

// Acked is what the receiver acknowledged (poll), in order.
func (tx *Transmitter) Acked() []string {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return append([]string(nil), tx.acked...)
}

// SetErr is the error the receiver returned for the SET jti (poll).
func (tx *Transmitter) SetErr(jti string) ssf.SetError {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.setErrs[jti]
}

// Created counts the streams created.
func (tx *Transmitter) Created() int {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.created
}

// Queued counts the SETs not acknowledged yet (poll).
func (tx *Transmitter) Queued() int {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return len(tx.queue)
}

// Requeue delivers set again under jti, as a transmitter does that did not
// hear the acknowledgement (poll).
func (tx *Transmitter) Requeue(jti, set string) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.queue[jti] = set
}

package ssf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Delivery methods (SSF 1.0).
const (
	DeliveryPush = "urn:ietf:rfc:8935"
	DeliveryPoll = "urn:ietf:rfc:8936"
)

// maxResponse bounds what is read of a transmitter's answer.
const maxResponse = 4 << 20

// Metadata is the transmitter's configuration
// (/.well-known/ssf-configuration), the members the receiver uses.
type Metadata struct {
	Issuer                   string   `json:"issuer"`
	JWKSURI                  string   `json:"jwks_uri"`
	DeliveryMethodsSupported []string `json:"delivery_methods_supported"`
	ConfigurationEndpoint    string   `json:"configuration_endpoint"`
	VerificationEndpoint     string   `json:"verification_endpoint"`
}

// Delivery is a stream's delivery member.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// Stream is a stream's configuration, the members the receiver uses.
type Stream struct {
	StreamID        string   `json:"stream_id"`
	Issuer          string   `json:"iss,omitempty"`
	Audience        any      `json:"aud,omitempty"`
	EventsRequested []string `json:"events_requested,omitempty"`
	EventsDelivered []string `json:"events_delivered,omitempty"`
	Delivery        Delivery `json:"delivery"`
	Description     string   `json:"description,omitempty"`
}

// Client calls a transmitter: every request carries Authorization.
type Client struct {
	HTTP          *http.Client
	Authorization string
	// CheckURL refuses a URL the transmitter hands out that must not be
	// called (plain http off loopback).
	CheckURL func(string) error
}

func (c *Client) do(ctx context.Context, method, rawURL string, body any, out any) (int, error) {
	if err := c.CheckURL(rawURL); err != nil {
		return 0, err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Authorization != "" {
		req.Header.Set("Authorization", c.Authorization)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d", method, redact(rawURL), resp.StatusCode)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, redact(rawURL), errors.Unwrap(err))
		}
	}
	return resp.StatusCode, nil
}

// redact drops a URL's query (it may hold a stream id or a token) for errors.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.RawQuery, u.User = "", nil
		return u.String()
	}
	return "the URL"
}

// WellKnown is where a transmitter's configuration is: for issuer
// https://tx.example.com/tenant, https://tx.example.com/.well-known/ssf-configuration/tenant.
func WellKnown(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("transmitter %q is not a URL", issuer)
	}
	path := strings.TrimSuffix(u.Path, "/")
	u.Path = "/.well-known/ssf-configuration" + path
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Discover reads the transmitter's configuration and checks that it is the
// transmitter's (issuer) and has what the receiver needs.
func (c *Client) Discover(ctx context.Context, issuer string) (*Metadata, error) {
	wk, err := WellKnown(issuer)
	if err != nil {
		return nil, err
	}
	var m Metadata
	if _, err := c.do(ctx, http.MethodGet, wk, nil, &m); err != nil {
		return nil, fmt.Errorf("transmitter configuration: %w", err)
	}
	if err := m.check(issuer); err != nil {
		return nil, err
	}
	return &m, nil
}

// check refuses a configuration that is not the transmitter's or lacks
// what the receiver uses.
func (m *Metadata) check(issuer string) error {
	switch {
	case strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(issuer, "/"):
		return fmt.Errorf("transmitter configuration: its issuer is not %s", issuer)
	case m.JWKSURI == "":
		return errors.New("transmitter configuration: no jwks_uri")
	case m.ConfigurationEndpoint == "":
		return errors.New("transmitter configuration: no configuration_endpoint (stream management)")
	}
	return nil
}

// GetStream reads the stream of id; found is false when the transmitter
// does not know it (404), or answers with another stream.
func (c *Client) GetStream(ctx context.Context, m *Metadata, id string) (s *Stream, found bool, err error) {
	u, err := url.Parse(m.ConfigurationEndpoint)
	if err != nil {
		return nil, false, err
	}
	q := u.Query()
	q.Set("stream_id", id)
	u.RawQuery = q.Encode()
	var raw json.RawMessage
	code, err := c.do(ctx, http.MethodGet, u.String(), nil, &raw)
	if code == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// SSF 1.0 answers one stream; some transmitters a list.
	var one Stream
	if json.Unmarshal(raw, &one) == nil && one.StreamID == id {
		return &one, true, nil
	}
	var many []Stream
	if json.Unmarshal(raw, &many) == nil {
		for i := range many {
			if many[i].StreamID == id {
				return &many[i], true, nil
			}
		}
	}
	return nil, false, nil
}

// CreateStream creates a stream with delivery for events.
func (c *Client) CreateStream(ctx context.Context, m *Metadata, d Delivery, events []string) (*Stream, error) {
	var s Stream
	req := Stream{Delivery: d, EventsRequested: events, Description: "micro-gw ssf-receiver"}
	if _, err := c.do(ctx, http.MethodPost, m.ConfigurationEndpoint, req, &s); err != nil {
		return nil, fmt.Errorf("create the stream: %w", err)
	}
	if s.StreamID == "" {
		return nil, errors.New("create the stream: the transmitter answered no stream_id")
	}
	return &s, nil
}

// RequestVerification asks for a verification event carrying state.
func (c *Client) RequestVerification(ctx context.Context, m *Metadata, streamID, state string) error {
	if m.VerificationEndpoint == "" {
		return errors.New("the transmitter has no verification_endpoint")
	}
	_, err := c.do(ctx, http.MethodPost, m.VerificationEndpoint, map[string]string{"stream_id": streamID, "state": state}, nil)
	return err
}

// PollRequest and PollResponse are RFC 8936's.
type PollRequest struct {
	MaxEvents         int                 `json:"maxEvents"`
	ReturnImmediately bool                `json:"returnImmediately"`
	Ack               []string            `json:"ack,omitempty"`
	SetErrs           map[string]SetError `json:"setErrs,omitempty"`
}

// SetError is an RFC 8935/8936 error for one SET.
type SetError struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// PollResponse is what a poll returns: SETs by jti.
type PollResponse struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable"`
}

// Poll sends req to the stream's endpoint.
func (c *Client) Poll(ctx context.Context, endpoint string, req PollRequest) (*PollResponse, error) {
	var resp PollResponse
	if _, err := c.do(ctx, http.MethodPost, endpoint, req, &resp); err != nil {
		return nil, fmt.Errorf("poll: %w", err)
	}
	return &resp, nil
}

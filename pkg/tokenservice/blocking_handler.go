package tokenservice

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// BlockPath and UnblockPath are where the development token service takes
// blocking conditions.
const (
	BlockPath   = "/block"
	UnblockPath = "/unblock"
)

// BlockHandler sets (or, with Lift, lifts) blocking conditions: POST a form
// with type= (ip, iprange, application, user or api), value= and, to set
// one, optionally ttl= (seconds or a Go duration; none: until lifted), with
// the same HTTP Basic client authentication as Handler. It answers
//   - 200 with the condition as JSON {"type","value","enabled","ttl"} once
//     every side has it;
//   - 400 {"error":"invalid_request"} for a form that names no condition or a bad one;
//   - 401 {"error":"invalid_client"} for bad or missing client credentials;
//   - 503 {"error":"temporarily_unavailable"} with Retry-After when a side failed.
type BlockHandler struct {
	Endpoint
	Lift bool
}

// ServeHTTP serves BlockPath (or UnblockPath).
func (h *BlockHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log, ok := h.begin(w, r)
	if !ok {
		return
	}
	req, err := blockRequestFromForm(r.PostForm.Get, h.Lift)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	res, err := h.Revoker.Block(r.Context(), req)
	c := res.Condition
	answer(w, log, res.Done, err, "blocking condition", map[string]any{
		"type": c.Kind.String(), "value": c.Value, "enabled": c.Enabled, "ttl": int64(c.TTL / time.Second),
	}, "type", req.Kind.String(), "value", req.Value)
}

// blockRequestFromForm reads type, value and ttl.
func blockRequestFromForm(get func(string) string, lift bool) (BlockRequest, error) {
	req := BlockRequest{Lift: lift, Value: strings.TrimSpace(get("value"))}
	if req.Kind = revocation.ParseBlockKind(strings.TrimSpace(get("type"))); req.Kind == revocation.BlockNone {
		return req, errors.New("type must be ip, iprange, application, user or api")
	}
	if req.Value == "" {
		return req, errors.New("value is missing")
	}
	if v := strings.TrimSpace(get("ttl")); v != "" {
		if lift {
			return req, errors.New("ttl goes with /block, not /unblock")
		}
		ttl, err := ParseTTL(v)
		if err != nil {
			return req, errors.New("ttl: " + err.Error())
		}
		req.TTL = ttl
	}
	return req, nil
}

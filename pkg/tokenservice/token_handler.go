package tokenservice

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/micro-gw/micro-gw/pkg/issuer"
)

// TokenPath is where the development token service issues tokens.
const TokenPath = "/token"

// TokenHandler issues access tokens (RFC 6749 section 4.4, client
// credentials), signed with the project's development issuer key, each
// with an entry of the service's Token Status List in its status claim:
// POST grant_type=client_credentials (optional sub=, scope=, ttl=) with
// the client's id and secret in HTTP Basic. It answers 200
// {"access_token","token_type":"Bearer","expires_in"}; 400
// {"error":"unsupported_grant_type"} or invalid_request; 401 invalid_client.
type TokenHandler struct {
	Endpoint
	Signer   Signer
	Audience string
	List     *StatusList
}

// ServeHTTP serves TokenPath.
func (h *TokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log, ok := h.begin(w, r)
	if !ok {
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is issued here")
		return
	}
	ttl := issuer.DefaultTTL
	if v := strings.TrimSpace(r.PostForm.Get("ttl")); v != "" {
		d, err := ParseTTL(v)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request", "ttl: "+err.Error())
			return
		}
		ttl = d
	}
	jti := uuid.NewString()
	now := time.Now()
	idx, err := h.List.Assign(jti, now.Add(ttl+time.Minute))
	if err != nil {
		log.Error("cannot give the token an entry of the status list", "error", err)
		oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the status list is full")
		return
	}
	tok, err := issuer.Sign(h.Signer.Key, h.Signer.KeyID, issuer.Claims{
		Issuer: h.Signer.Issuer, Subject: r.PostForm.Get("sub"), Audience: []string{h.Audience},
		Scopes: strings.Fields(r.PostForm.Get("scope")), TTL: ttl, JTI: jti, IssuedAt: now,
		Extra: map[string]any{"status": h.List.Claim(idx)},
	})
	if err != nil {
		log.Error("cannot sign a token", "error", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "cannot sign the token")
		return
	}
	log.Info("token issued", "jti", jti, "status_idx", idx)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int64(ttl / time.Second)})
}

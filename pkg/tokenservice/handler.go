package tokenservice

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// RevokePath is where the seed's token service took revocations:
// curl -d "token=<jti>" -H "Authorization: Basic ..." https://localhost:8243/revoke
const RevokePath = "/revoke"

// maxFormBytes bounds a revocation request's body; a JWT is a few KB.
const maxFormBytes = 64 << 10

// Handler is the token revocation endpoint of RFC 7009: POST a form with
// token=<jti or JWT> (token_type_hint is accepted and ignored, as section 2.1
// allows), authenticated with the client's id and secret in HTTP Basic
// (RFC 6749 section 2.3.1). It answers
//   - 200 with an empty body when the token is revoked, and also when it is
//     unknown, unreadable or already expired (section 2.2: the client cannot
//     do anything about those);
//   - 400 {"error":"invalid_request"} without a token;
//   - 401 {"error":"invalid_client"} with WWW-Authenticate: Basic for bad or
//     missing client credentials;
//   - 503 {"error":"temporarily_unavailable"} with Retry-After when a side
//     of the revocation (broker or store) failed, so the client tries again.
type Handler struct{ Endpoint }

// Endpoint is what every endpoint of the token service has: the Revoker
// that does the work, the client credentials it accepts and its log.
type Endpoint struct {
	Revoker      *Revoker
	ClientID     string
	ClientSecret string
	Logger       *slog.Logger
}

// ServeHTTP serves RevokePath.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log, ok := h.begin(w, r)
	if !ok {
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if token == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the token parameter is missing")
		return
	}
	res, err := h.Revoker.Revoke(r.Context(), Request{Token: token})
	var invalid *InvalidTokenError
	switch {
	case errors.As(err, &invalid):
		// RFC 7009 2.2: an invalid token is not an error for the client.
		log.Info("revocation request names no revocable token; nothing revoked", "reason", invalid.Error())
	case err != nil:
		log.Error("revocation incomplete", "jti", res.Token.JTI, "error", err)
		retryLater(w, "revocation")
		return
	case res.Expired:
		log.Info("revocation of an expired token: nothing to do", "jti", res.Token.JTI)
	default:
		for _, line := range res.Done {
			log.Info(line)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// begin is what every endpoint asks of a request before reading its fields
// (readClientForm), and the log to use. It answers the fault itself and
// reports false when the request is refused.
func (e *Endpoint) begin(w http.ResponseWriter, r *http.Request) (*slog.Logger, bool) {
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log, readClientForm(w, r, e.ClientID, e.ClientSecret)
}

// readClientForm checks a POST, client credentials in Basic auth (RFC 7009
// section 2.1), and a bounded url-encoded form, parsed into r.PostForm. It
// answers the fault itself and reports false when the request is refused.
func readClientForm(w http.ResponseWriter, r *http.Request, clientID, clientSecret string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
		return false
	}
	if !clientAuthenticated(r, clientID, clientSecret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="micro-gw token service"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return false
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
			return false
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "cannot read the form")
		return false
	}
	return true
}

// clientAuthenticated compares the Basic credentials in constant time.
func clientAuthenticated(r *http.Request, clientID, clientSecret string) bool {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(clientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(clientSecret)) == 1
	return idOK && secretOK && clientID != ""
}

// answer is the reply of an endpoint that hands what (a blocking condition,
// a revocation rule) to the Revoker, from what the Revoker did (done, err):
//   - 400 invalid_request when it refused the request before any side had it;
//   - 503 temporarily_unavailable with Retry-After when a side failed (logged
//     with attrs), so that the client sends it again;
//   - else 200 with body as JSON, and each side's line logged.
func answer(w http.ResponseWriter, log *slog.Logger, done []string, err error, what string, body any, attrs ...any) {
	var invalid *InvalidTokenError
	switch {
	case errors.As(err, &invalid):
		oauthError(w, http.StatusBadRequest, "invalid_request", invalid.Err.Error())
		return
	case err != nil:
		log.Error(what+" incomplete", append(attrs, "error", err)...)
		retryLater(w, what)
		return
	}
	for _, line := range done {
		log.Info(line)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

// retryLater answers 503 temporarily_unavailable with Retry-After: what
// did not reach every side, and the client should send it again.
func retryLater(w http.ResponseWriter, what string) {
	w.Header().Set("Retry-After", "5")
	oauthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the "+what+" could not be delivered everywhere; try again")
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

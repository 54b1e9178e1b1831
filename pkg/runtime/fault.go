package runtime

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth"
)

// Fault codes of the request path. The first group is the original WSO2
// gateway's (docs/runtime.md); the second is micro-gw's own, documented
// in docs/runtime.md.
const (
	CodeUnclassified       = 900900 // 500: the validator failed without a verdict
	CodeInvalidCredentials = 900901 // 401
	CodeMissingCredentials = 900902 // 401
	CodeTokenExpired       = 900903 // 401
	CodeNoMatchingResource = 900906 // 404
	CodeResourceForbidden  = 900908 // 403: subscription check failed
	CodeScopeMismatch      = 900910 // 403
	CodeInvalidScheme      = 900917 // 401
	CodeBackendUnreachable = 101503 // 503: no backend URL reached, nothing sent
	CodeBackendTimeout     = 101504 // 504: the backend did not start its response in time
	CodeBackendClosed      = 101505 // 502: the request reached the backend, no usable response came

	// The throttling faults (429, docs/traffic.md): the quota used up was
	// the API's or the resource's, the application's, or the subscription's.
	CodeThrottledResource     = 900802
	CodeThrottledApplication  = 900803
	CodeThrottledSubscription = 900804
	// CodeBlocked refuses a request that a blocking condition matches (403).
	CodeBlocked = 900805

	// CodeMethodNotAllowed is what WSO2's API Manager gateway answered when
	// the path matched a resource but the method did not: 405 with code 405.
	CodeMethodNotAllowed = 405
	// CodeRevocationNotLoaded refuses secured requests (503) while an
	// enabled persistent revocation store has not made its first load and
	// serveBeforeLoaded is false: fail closed.
	CodeRevocationNotLoaded = 900950
	// CodeInternalError is a fault inside the gateway (a recovered panic).
	CodeInternalError = 101500
	// CodeRequestTooLarge refuses a body over listenerConfig.maxRequestBodySize
	// (413, code = status as for 405).
	CodeRequestTooLarge = 413
	// CodeBadRequest answers a request body that broke off or broke its
	// framing on its way to the backend (400, code = status as for 405).
	CodeBadRequest = 400
	// CodeKeyManagerUnavailable refuses an opaque token (503) when the key
	// manager did not answer its introspection: fail closed
	// (docs/authentication.md, "Opaque tokens").
	CodeKeyManagerUnavailable = auth.CodeKeyManagerUnavailable
	// CodeAuthBusy refuses a basic-auth request (503) whose password check
	// found no free slot in time (docs/authentication.md, "Basic auth").
	CodeAuthBusy = auth.CodeBusy
)

// faultInfo is the fixed part of a fault: status and message.
type faultInfo struct {
	status  int
	message string
	detail  string // the default detail
}

var faults = map[int]faultInfo{
	CodeUnclassified:        {http.StatusInternalServerError, "Unclassified Authentication Failure", "Error while validating the access token"},
	CodeInvalidCredentials:  {http.StatusUnauthorized, "Invalid Credentials", "Make sure you have given the correct access token"},
	CodeMissingCredentials:  {http.StatusUnauthorized, "Missing Credentials", "Make sure your API request provides required credentials"},
	CodeTokenExpired:        {http.StatusUnauthorized, "Access Token Expired", "Renew the access token and try again"},
	CodeNoMatchingResource:  {http.StatusNotFound, "No matching resource found in the API for the given request", "Check the API's base path, the resource path and the method"},
	CodeResourceForbidden:   {http.StatusForbidden, "Resource forbidden", "The application is not subscribed to the API"},
	CodeScopeMismatch:       {http.StatusForbidden, "The access token does not allow you to access the requested resource", "The access token does not carry the scopes the resource requires"},
	CodeInvalidScheme:       {http.StatusUnauthorized, "Invalid Authentication scheme", "Use the Bearer scheme"},
	CodeBackendUnreachable:  {http.StatusServiceUnavailable, "Error connecting to the back end", "The backend service could not be reached"},
	CodeBackendTimeout:      {http.StatusGatewayTimeout, "Connection timed out", "The backend service did not respond in time"},
	CodeBackendClosed:       {http.StatusBadGateway, "Connection closed", "The backend service closed the connection without a valid response"},
	CodeMethodNotAllowed:    {http.StatusMethodNotAllowed, "Method not allowed", "Method not allowed for given API resource"},
	CodeRevocationNotLoaded: {http.StatusServiceUnavailable, "Revocation list not loaded", "The gateway has not yet loaded the revoked tokens; retry shortly"},
	CodeInternalError:       {http.StatusInternalServerError, "Internal server error", "The gateway failed to handle the request"},
	CodeRequestTooLarge:     {http.StatusRequestEntityTooLarge, "Request entity too large", "The request body is larger than the gateway accepts"},
	CodeBadRequest:          {http.StatusBadRequest, "Bad request", "The request body ended early or broke its framing"},

	CodeThrottledResource:     {http.StatusTooManyRequests, "Message throttled out", "You have exceeded your quota"},
	CodeThrottledApplication:  {http.StatusTooManyRequests, "Message throttled out", "You have exceeded your quota"},
	CodeThrottledSubscription: {http.StatusTooManyRequests, "Message throttled out", "You have exceeded your quota"},
	CodeBlocked:               {http.StatusForbidden, "Message blocked", "You have been blocked from accessing the resource"},
	CodeKeyManagerUnavailable: {http.StatusServiceUnavailable, "Key manager unavailable", "The token could not be validated: the key manager did not answer; retry shortly"},
	CodeAuthBusy:              {http.StatusServiceUnavailable, "Authentication busy", "Too many password checks at once; retry shortly"},
}

// Fault is an error answered to the client as the JSON fault body.
type Fault struct {
	Code   int
	Status int
	// Message is the fault's fixed message, Detail what follows it in the
	// description.
	Message string
	Detail  string
	// Challenges are the WWW-Authenticate values of a 401; nil gives the
	// Bearer challenge of RFC 6750.
	Challenges []string
}

// newFault returns the fault of code with detail (the default when empty).
func newFault(code int, detail string) *Fault {
	fi, ok := faults[code]
	if !ok {
		fi = faults[CodeUnclassified]
	}
	if detail == "" {
		detail = fi.detail
	}
	return &Fault{Code: code, Status: fi.status, Message: fi.message, Detail: detail}
}

func (f *Fault) Error() string {
	return "fault " + strconv.Itoa(f.Code) + ": " + f.Message + ". " + f.Detail
}

type faultBody struct {
	Fault struct {
		Code        int    `json:"code"`
		Message     string `json:"message"`
		Description string `json:"description"`
	} `json:"fault"`
}

// body is the JSON body: {"fault":{"code":N,"message":M,"description":"M. detail"}}.
func (f *Fault) body() []byte {
	var b faultBody
	b.Fault.Code = f.Code
	b.Fault.Message = f.Message
	b.Fault.Description = f.Message + ". " + f.Detail
	out, err := json.Marshal(b)
	if err != nil { // cannot happen: only strings and an int
		out = []byte(`{"fault":{"code":101500,"message":"Internal server error","description":"Internal server error"}}`)
	}
	// A body that ends its line, as curl users expect: without it the
	// shell prompt is joined to the fault.
	return append(out, '\n')
}

// write answers the fault. A 401 carries its Challenges, by default the
// RFC 6750 one: only the realm for missing credentials, with
// error="invalid_token" otherwise.
func (f *Fault) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if f.Status == http.StatusUnauthorized {
		switch {
		case f.Challenges != nil:
			h.Del("WWW-Authenticate")
			for _, c := range f.Challenges {
				h.Add("WWW-Authenticate", c)
			}
		case f.Code == CodeMissingCredentials:
			h.Set("WWW-Authenticate", bearerRealm)
		default:
			h.Set("WWW-Authenticate", bearerInvalid(f.Detail))
		}
	}
	if f.Status == http.StatusServiceUnavailable && (f.Code == CodeAuthBusy || f.Code == CodeKeyManagerUnavailable) {
		h.Set("Retry-After", "1")
	}
	body := f.body()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}

// quoteParam makes s safe inside an auth-param quoted string (RFC 6750
// restricts error_description to %x20-21 / %x23-5B / %x5D-7E).
func quoteParam(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\'')
		case c < 0x20 || c > 0x7e:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

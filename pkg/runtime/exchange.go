package runtime

import (
	"net/http"
	"time"
)

// exchange is the state of one request on its way through the request path.
// It is also the ResponseWriter the stages write to, recording the status
// for the metrics and the log.
type exchange struct {
	http.ResponseWriter
	status int
	start  time.Time

	route *route
	// api is the API of the request, when the path is under its base path
	// and the listener serves it (set with route, or without one for a 404
	// or 405); allow is the Allow header of a 405.
	api   *apiSettings
	allow string
	// onHeader, when set, is called once with the response's headers just
	// before they are sent, whoever writes them: a stage's last word on
	// the headers of a backend's response or of a fault (CORS).
	onHeader func(http.Header)
	// rest is the escaped path the backend gets after its own path.
	rest string
	// jti and sandbox come from the validated credentials (secured
	// resources): the first jti, and whether any says SANDBOX.
	jti     string
	sandbox bool
	// creds are the credentials the request was accepted with (its
	// alternative's), backed by credBuf; scopeDenied is set when they lack
	// the alternative's scopes (authenticate).
	creds       []credential
	credBuf     [2]credential
	scopeDenied bool
	// cred is the credential of creds that the later stages reading a
	// token's claims ask (throttling, status lists): the first that names
	// an application, else the first; nil when unsecured.
	cred credential
	// authKind is the kind of scheme whose refusal was answered, which
	// decides the error of the Bearer challenge (routeAuth.challengesFor).
	authKind string
	// authReason is the validator's reason when authentication failed.
	authReason string
	// order is the endpoint's URLs in the order this request tries them.
	order []*target
}

func (x *exchange) WriteHeader(code int) {
	if x.status == 0 && code >= 200 {
		x.begin(code)
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.begin(http.StatusOK)
	}
	return x.ResponseWriter.Write(b)
}

// Flush passes a flush on (streamed responses).
func (x *exchange) Flush() {
	if x.status == 0 {
		x.begin(http.StatusOK)
	}
	_ = http.NewResponseController(x.ResponseWriter).Flush()
}

// begin records the final status, before the headers go out.
func (x *exchange) begin(code int) {
	x.status = code
	if x.onHeader != nil {
		x.onHeader(x.Header())
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// fail answers the request with the fault f.
// A 401 of a route that accepts other schemes than a bearer token carries
// the challenge of each.
func (x *exchange) fail(f *Fault) {
	if f.Status == http.StatusUnauthorized && f.Challenges == nil && x.route != nil && x.route.auth != nil && x.route.auth.challenges {
		f.Challenges = x.route.auth.challengesFor(f, x.authKind)
	}
	f.write(x)
}

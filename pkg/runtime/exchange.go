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
	// jti and sandbox come from the validated token (secured resources).
	jti     string
	sandbox bool
	// cred is the validated token (secured resources).
	cred credential
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
func (x *exchange) fail(f *Fault) { f.write(x) }

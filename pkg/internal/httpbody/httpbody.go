// Package httpbody reads the answer of an outbound fetch whole, within a
// bound: the JWKS, introspection and status-list fetches take a server's
// word for nothing, not even the size of what it sends.
package httpbody

import (
	"fmt"
	"io"
	"net/http"
)

// ReadOK reads resp.Body whole when resp is 200 OK. Another status, a body
// longer than limit bytes (it is not read past limit+1) or a failed read is
// an error saying which; the caller names the fetch.
func ReadOK(resp *http.Response, limit int) ([]byte, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("an answer larger than %d bytes", limit)
	}
	return body, nil
}

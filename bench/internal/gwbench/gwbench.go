// Package gwbench is what the bench/ tools that measure a running gateway
// share: the flags that name the gateway and the tokens' key, the loopback
// rule every load obeys, one call with a bearer token, and one definition
// of a percentile.
package gwbench

import (
	"context"
	"crypto"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/micro-gw/micro-gw/pkg/issuer"
)

// Flags are the flags of a tool that revokes tokens it signs and watches a
// gateway refuse them.
type Flags struct {
	URL     *string
	KeyFile *string
	KID     *string
	N       *int
	Timeout *time.Duration
	JSON    *bool
}

// AddFlags registers -url, -key, -kid, -n (default n), -timeout (default
// timeout) and -json on the command line.
func AddFlags(n int, timeout time.Duration) Flags {
	return Flags{
		URL:     flag.String("url", "http://127.0.0.1:9090/petstore/v1/pet/42", "a secured resource of the gateway (loopback)"),
		KeyFile: flag.String("key", "", "the project's security/issuer.key"),
		KID:     flag.String("kid", issuer.DefaultKeyID, "kid of the tokens"),
		N:       flag.Int("n", n, "how many revocations"),
		Timeout: flag.Duration("timeout", timeout, "give one revocation up after this long"),
		JSON:    flag.Bool("json", false, "print the result as JSON"),
	}
}

// Key checks -url and loads the key of -key, after flag.Parse.
func (f Flags) Key() (crypto.Signer, error) {
	if _, err := LoopbackURL(*f.URL); err != nil {
		return nil, err
	}
	return issuer.LoadKey(*f.KeyFile)
}

// LoopbackURL parses raw, which must name a loopback host: the bench tools
// load only what runs on this machine.
func LoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !loopback(u.Hostname()) {
		return nil, fmt.Errorf("-url must be a loopback URL, got %q", raw)
	}
	return u, nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Caller returns a function that GETs target with tok as a bearer token
// and returns the status (the body read and dropped, the connection kept).
func Caller(ctx context.Context, target string) func(tok string) (int, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: 5 * time.Second}
	return func(tok string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
}

// Millis is the q-quantile of sorted in milliseconds (0 for none): the
// element at q*(len-1), so that 1 is the maximum.
func Millis(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// Fail prints err as tool's and exits with status 1.
func Fail(tool string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
	os.Exit(1)
}

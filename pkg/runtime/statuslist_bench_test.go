package runtime

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/micro-gw/micro-gw/pkg/runtime/auth/authtest"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/statuslist"
)

// BenchmarkRequestCachedStatusList is BenchmarkRequestCached/RS256 with
// [statusList] on and the token's list held (a list of 1,048,576 one-bit
// entries, its entry VALID), against the same request with [statusList]
// off: the cost of the status check per request.
func BenchmarkRequestCachedStatusList(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchmarkRequestWith(b, authtest.RSA, true, nil, nil) })
	b.Run("1M-entries", func(b *testing.B) {
		var token string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", statuslist.MediaType)
			_, _ = w.Write([]byte(token))
		}))
		defer srv.Close()
		uri := srv.URL + "/statuslists/1"
		claims := map[string]any{"status": map[string]any{"status_list": map[string]any{"idx": 777_778, "uri": uri}}}
		benchmarkRequestConf(b, authtest.RSA, true, claims, func(iss *authtest.Issuer, c *config.Config) {
			l, err := statuslist.NewList(1, 1<<20)
			if err != nil {
				b.Fatal(err)
			}
			for i := uint64(0); i < 1<<20; i += 3 {
				l.Set(i, statuslist.Invalid) // every third entry revoked; 777,778 is not
			}
			token = iss.Sign(b, jwt.MapClaims{"iss": iss.Name, "sub": uri, "iat": time.Now().Unix(),
				"exp": time.Now().Add(time.Hour).Unix(), "ttl": 3600,
				"status_list": map[string]any{"bits": 1, "lst": l.Encode()}}, map[string]any{"typ": statuslist.TokenType})
			c.StatusList.Enabled, c.StatusList.AllowedHosts = true, []string{"127.0.0.1"}
		}, nil)
	})
}

package runtime

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// apiSettings is how this gateway serves one API beyond its routes: what
// the definition says (x-wso2-auth-header, x-wso2-transports, x-wso2-cors)
// completed by the configuration ([authConfig], [corsConfig]). Every route
// of the API points at the same one; it is read-only once built.
type apiSettings struct {
	api *API
	// authHeader is the header that carries the API's token, canonical.
	authHeader string
	// http and https say which listeners serve the API.
	http, https bool
	// cors is the API's CORS policy; nil when CORS is off for it.
	cors *cors.Policy
	// baseSegments are the base path's segments, for apiOf.
	baseSegments []string
}

// serves reports whether the listener a request came in on (TLS or not)
// serves the API.
func (a *apiSettings) serves(tls bool) bool {
	if tls {
		return a.https
	}
	return a.http
}

// newAPISettings completes api's settings with the configuration's.
// defaultCORS is [corsConfig]'s policy, nil when it is off.
func newAPISettings(api *API, cfg *config.Config, defaultCORS *cors.Policy) (*apiSettings, error) {
	a := &apiSettings{api: api, authHeader: cfg.Auth.AuthorizationHeader, http: true, https: true,
		cors: defaultCORS, baseSegments: splitTemplate(api.BasePath)}
	if api.AuthHeader != "" {
		a.authHeader = api.AuthHeader
	}
	if a.authHeader == "" {
		a.authHeader = config.DefaultAuthorizationHeader
	}
	a.authHeader = http.CanonicalHeaderKey(a.authHeader)
	if api.Transports != nil {
		a.http = slices.Contains(api.Transports, TransportHTTP)
		a.https = slices.Contains(api.Transports, TransportHTTPS)
		if !a.http && !a.https {
			return nil, fmt.Errorf("x-wso2-transports %q names neither %s nor %s", api.Transports, TransportHTTP, TransportHTTPS)
		}
	}
	if c := api.CORS; c != nil {
		a.cors = nil
		if c.Enabled {
			p, err := cors.New(cors.Config{AllowOrigins: c.AllowOrigins, AllowCredentials: c.AllowCredentials,
				AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods})
			if err != nil {
				return nil, fmt.Errorf("x-wso2-cors: %w", err)
			}
			a.cors = p
		}
	}
	return a, nil
}

// defaultCORS is the policy of [corsConfig], nil when it is off.
func defaultCORS(cfg *config.Config) (*cors.Policy, error) {
	if !cfg.CORS.Enabled {
		return nil, nil
	}
	p, err := cors.New(cfg.CORS.Policy())
	if err != nil {
		return nil, cfg.Fault("corsConfig", err)
	}
	return p, nil
}

// apiOf is the API whose base path holds the escaped path, the longest
// base path first, or nil: the API of a request that matched none of its
// resources, for the listener check and CORS.
func (rt *router) apiOf(escapedPath string) *apiSettings {
	segs := strings.Split(strings.Trim(escapedPath, "/"), "/")
	var best *apiSettings
	for _, a := range rt.apis {
		if len(a.baseSegments) > len(segs) || (best != nil && len(a.baseSegments) <= len(best.baseSegments)) {
			continue
		}
		if slices.Equal(a.baseSegments, segs[:len(a.baseSegments)]) {
			best = a
		}
	}
	return best
}

// name is how logs and errors name the API: its title and base path.
func (a *API) name() string { return fmt.Sprintf("%q (%s)", a.Title, a.BasePath) }

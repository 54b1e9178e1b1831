// Package runtime is the gateway server compiled into every built gateway:
// configuration, listeners, routing, proxying, JWT authentication, the
// revoked-set check and the faults.
package runtime

import (
	"strings"
	"time"
)

// Spec is everything `micro-gw build` compiles into a gateway: the APIs of the
// project, as Go values, so that nothing is parsed from YAML when the gateway
// starts. pkg/codegen writes a Spec literal into the generated main package.
type Spec struct {
	// Name is the project's name (the last element of its path).
	Name string
	// Version is the micro-gw version that built the gateway.
	Version string
	APIs    []API
	// Policies are the throttling policies of the project's policies.yaml
	// (docs/traffic.md).
	Policies Policies
}

// API is one OpenAPI definition of the project.
type API struct {
	Title   string
	Version string
	// Source is the definition's file name inside api_definitions/, for logs.
	Source string
	// BasePath is x-wso2-basePath, else the servers/basePath path; it starts
	// with "/" and has no trailing slash ("" is not allowed: "/" is).
	BasePath string
	// Production and Sandbox are the API-level endpoints; a Resource may
	// override them. Sandbox may be nil.
	Production *Endpoint
	Sandbox    *Endpoint
	// ThrottlingTier is the API's x-wso2-throttling-tier: a resource
	// policy that counts once for all the operations without a tier of
	// their own; "" for none.
	ThrottlingTier string
	Resources      []Resource
	// AuthHeader is x-wso2-auth-header: the header that carries this API's
	// token; "" takes [authConfig] authorizationHeader.
	AuthHeader string
	// Transports is x-wso2-transports: the listeners that serve the API,
	// "http" and "https" in that order; nil serves it on both.
	Transports []string
	// CORS is x-wso2-cors. Nil leaves the API to [corsConfig] of
	// micro-gw.conf; Enabled false switches CORS off for it whatever
	// [corsConfig] says.
	CORS *CORS
}

// CORS is an API's x-wso2-cors (docs/runtime.md, "CORS"); the fields its
// definition leaves out hold WSO2's defaults (cors.DefaultAllowOrigins, ...).
type CORS struct {
	Enabled          bool
	AllowOrigins     []string
	AllowCredentials bool
	AllowHeaders     []string
	AllowMethods     []string
}

// Transports of x-wso2-transports: the listener a request came in on.
const (
	TransportHTTP  = "http"
	TransportHTTPS = "https"
)

// Resource is one operation: a method on a path template.
type Resource struct {
	// Method is upper case: GET, POST, ...
	Method string
	// Path is the OpenAPI path template relative to BasePath, e.g. "/pet/{petId}".
	Path        string
	OperationID string
	// Secured is false when x-wso2-disable-security is true (API or
	// operation level) or the operation says security: [].
	Secured bool
	// Security are the alternatives of a secured resource, any one of
	// which suffices (docs/authentication.md); micro-gw build compiles them
	// from the definition. nil: one bearer token with Scopes.
	Security []Requirement
	// Scopes are the scopes a bearer token must carry when Security is nil
	// (a Spec written by hand, or by a build before Security existed).
	Scopes []string
	// Production and Sandbox override the API's endpoints when set.
	Production *Endpoint
	Sandbox    *Endpoint
	// ThrottlingTier is the operation's own x-wso2-throttling-tier: a
	// resource policy that counts this operation alone; "" when it has
	// none (the API's tier then applies).
	ThrottlingTier string
}

// Endpoint is a backend of x-wso2-production-endpoints or
// x-wso2-sandbox-endpoints.
type Endpoint struct {
	// Name is the endpoint's name in x-wso2-endpoints, "" for an endpoint
	// written in place or taken from servers: -e <Name>_prod_endpoint_<i>
	// and its kin change a named endpoint at start (docs/runtime.md,
	// "Endpoints at deploy time").
	Name string
	URLs []string
	// Type is "load_balance" (the default: round robin, moving on to the next
	// URL when one fails to connect) or "failover" (always the first URL that
	// answers, in order).
	Type string
	// Timeout is advanceEndpointConfig.timeoutInMillis: how long the backend
	// may take to start its response (docs/runtime.md, "Timeouts"). 0 takes
	// [upstream] responseTimeout of micro-gw.conf.
	Timeout time.Duration
	// Retry is advanceEndpointConfig.retryConfig; nil sends a request once
	// (it still moves on past a URL it could not connect to).
	Retry *Retry
	// Basic is securityConfig {type: basic}: the gateway sends the backend
	// Authorization: Basic. Nil sends no credentials.
	Basic *BasicAuth
}

// BasicAuth is an endpoint's securityConfig of type basic, as the build
// compiles it: never a password, only the ${NAME} that names the
// environment variable holding it, resolved when the gateway starts.
type BasicAuth struct {
	Username string
	// Password is "" (given at start: [apiEndpoints] basicPassword or -e
	// <name>_prod_basic_password) or "${NAME}".
	Password string
}

// Retry is an endpoint's retryConfig: which answers an idempotent request
// is sent again for, on the next URL of the endpoint, and how often.
type Retry struct {
	// Count is how many times a request may be sent again (count).
	Count int
	// StatusCodes are the statuses that are retried (statusCodes): the
	// backend's own, and the gateway's 502, 503 and 504 for a closed
	// connection, an unreachable URL and a timeout.
	StatusCodes []int
	// Interval is the wait before the first retry (intervalInMillis, WSO2
	// API Microgateway 3.x); each later wait is BackOffFactor times the one
	// before, at most MaxInterval (backOffFactor, maxWaitIntervalInMillis).
	Interval      time.Duration
	BackOffFactor float64
	MaxInterval   time.Duration
}

// RouteConflict is two resources of a Spec that the router cannot tell
// apart: the same method on two templates that match the same requests
// (/pets and /pets/, /pets/{id} and /pets/{name}, or a base path and a
// resource path that add up to another API's route). Each is an index into
// Spec.APIs and into that API's Resources; Second comes after First.
type RouteConflict struct {
	FirstAPI, FirstResource   int
	SecondAPI, SecondResource int
}

// FindRouteConflict returns the first two resources for which CheckRoutes
// would report a route defined twice, nil when there are none (CheckRoutes
// may still refuse the spec for another reason). It asks the router itself,
// so it never disagrees with how requests are matched.
func (s *Spec) FindRouteConflict() *RouteConflict {
	type at struct{ api, res int }
	rt := &router{root: newNode()}
	var added []at
	for i := range s.APIs {
		if !strings.HasPrefix(s.APIs[i].BasePath, "/") {
			return nil
		}
		for j := range s.APIs[i].Resources {
			if s.addResource(rt, i, j) == nil {
				added = append(added, at{i, j})
				continue
			}
			if s.addResource(&router{root: newNode()}, i, j) != nil {
				return nil // a bad template, not a conflict
			}
			for _, a := range added {
				pair := &router{root: newNode()}
				if s.addResource(pair, a.api, a.res) == nil && s.addResource(pair, i, j) != nil {
					return &RouteConflict{FirstAPI: a.api, FirstResource: a.res, SecondAPI: i, SecondResource: j}
				}
			}
			return nil
		}
	}
	return nil
}

// addResource adds resource j of API i to rt as eachRoute does.
func (s *Spec) addResource(rt *router, i, j int) error {
	api := &s.APIs[i]
	res := &api.Resources[j]
	return rt.add(api.BasePath, res.Path, strings.ToUpper(res.Method), newRoute(api, res))
}

// basePaths are the base paths of the spec's APIs.
func (s *Spec) basePaths() []string {
	out := make([]string, len(s.APIs))
	for i, api := range s.APIs {
		out[i] = api.BasePath
	}
	return out
}

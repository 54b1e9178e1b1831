package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The endpoints of the APIs, given at deploy time (docs/runtime.md,
// "Endpoints at deploy time"):
// one binary serves dev, staging and production.

// APIEndpoints is one [apiEndpoints."<basePath>"] table: the endpoints of
// the API with that base path, replacing those compiled in. A list left
// out keeps the compiled one; sandbox = [] takes the sandbox endpoint away.
type APIEndpoints struct {
	Production []string `conf:"production,urlsecret"`
	Sandbox    []string `conf:"sandbox,urlsecret"`
	// Type is "load_balance" or "failover"; "" keeps the compiled type.
	Type string `conf:"type"`
	// BasicUsername and BasicPassword are the credentials the gateway sends
	// to the production endpoint (Authorization: Basic), over those of its
	// securityConfig; SandboxBasicUsername and SandboxBasicPassword the
	// sandbox endpoint's, so that a sandbox backend never receives the
	// production credentials.
	BasicUsername        string `conf:"basicUsername"`
	BasicPassword        string `conf:"basicPassword,secret"`
	SandboxBasicUsername string `conf:"sandboxBasicUsername"`
	SandboxBasicPassword string `conf:"sandboxBasicPassword,secret"`
}

// Endpoint types of an endpoint's URL list.
const (
	EndpointLoadBalance = "load_balance"
	EndpointFailover    = "failover"
)

// apiEndpointsTable is the schema path of [apiEndpoints."<basePath>"].
const apiEndpointsTable = "apiEndpoints"

// APIEndpointsKey is the dotted key of field ("production", "basicPassword",
// ...) of the [apiEndpoints] table of basePath, as errors and -e write it:
// apiEndpoints."/petstore/v1".production; the table's own key when field
// is "".
func APIEndpointsKey(basePath, field string) string {
	table := join(apiEndpointsTable, quoteKey(basePath))
	if field == "" {
		return table
	}
	return join(table, field)
}

// APIEndpointsHint says the three ways of giving the production endpoint
// of the API with basePath, for the messages about an API without one.
func APIEndpointsHint(basePath string) string {
	key := APIEndpointsKey(basePath, "production")
	return fmt.Sprintf(`%s = ["https://..."] in micro-gw.conf, -e '%s=https://...', or %s=https://...`, key, key, Variable(key))
}

// APIEndpointsKeys names the entries of [apiEndpoints] that an MGW_
// variable may set without the file writing them: the base paths of the
// APIs compiled in (Sources.Keys).
func APIEndpointsKeys(basePaths []string) map[string][]string {
	return map[string][]string{apiEndpointsTable: basePaths}
}

// Variable is the MGW_ variable that sets the dotted key (as errors and -e
// write it): apiEndpoints."/acc/v1".production is
// MGW_APIENDPOINTS__ACC_V1_PRODUCTION. "" for a key that does not parse.
func Variable(key string) string {
	parts, err := parseKey(key)
	if err != nil {
		return ""
	}
	names := make([]string, 0, len(parts))
	for _, p := range parts {
		n := envName(p.name)
		if p.index >= 0 {
			n += "_" + strconv.Itoa(p.index)
		}
		names = append(names, n)
	}
	return EnvPrefix + strings.Join(names, "_")
}

// CheckEndpointURL checks one URL of an endpoint, from a definition or the
// configuration, and returns it as the gateway uses it (a trailing "/"
// dropped: the request path is appended to the URL's own). It must be
// absolute http or https, with a host and no query or fragment. Credentials
// in it are refused: they belong in securityConfig, or basicUsername and
// basicPassword. The URL is quoted in the error, so it must hold no secret.
func CheckEndpointURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("not a URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q must be an http or https URL", s)
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Errorf("%q has no host", s)
	case u.User != nil:
		return "", errors.New("the URL carries credentials: give them as securityConfig of the endpoint, or basicUsername and basicPassword (the URL is not shown)")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%q must not have a query or a fragment", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// CheckBasicUsername refuses a user name that Basic authentication cannot
// carry (RFC 7617: no colon, no control character). The name is not shown.
func CheckBasicUsername(s string) error {
	if strings.ContainsRune(s, ':') {
		return errors.New("a Basic user name cannot hold a colon (RFC 7617)")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("a Basic user name cannot hold a control character")
		}
	}
	return nil
}

// validateEndpoints checks every [apiEndpoints] table; whether one names an
// API of the gateway is the gateway's to check, since only it knows its
// APIs.
func (d *validator) validateEndpoints() {
	for _, bp := range slices.Sorted(maps.Keys(d.c.Endpoints)) {
		e := d.c.Endpoints[bp]
		key := func(field string) string { return APIEndpointsKey(bp, field) }
		if e.Production != nil && len(e.Production) == 0 {
			d.fail(key("production"), errors.New("is empty: an API needs a production endpoint (leave the key out to keep the one the definition gives)"))
		}
		for _, list := range []struct {
			field string
			urls  []string
		}{{"production", e.Production}, {"sandbox", e.Sandbox}} {
			for i, s := range list.urls {
				if _, err := CheckEndpointURL(s); err != nil {
					d.fail(fmt.Sprintf("%s[%d]", key(list.field), i), err)
				}
			}
		}
		switch e.Type {
		case "", EndpointLoadBalance, EndpointFailover:
		default:
			d.fail(key("type"), fmt.Errorf("must be %q or %q", EndpointLoadBalance, EndpointFailover))
		}
		for _, field := range []struct{ name, value string }{{"basicUsername", e.BasicUsername}, {"sandboxBasicUsername", e.SandboxBasicUsername}} {
			if err := CheckBasicUsername(field.value); err != nil {
				d.fail(key(field.name), err)
			}
		}
	}
}

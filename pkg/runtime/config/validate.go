package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/micro-gw/micro-gw/pkg/internal/loopback"
)

var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}

// validator checks a decoded Config; its faults are placed where the
// values were set.
type validator struct {
	c       *Config
	file    string
	origins origins
	faults
	// warnings are faults that do not stop the gateway, placed as faults are.
	warnings []error
}

func (d *validator) fail(key string, err error) {
	d.add(d.origins.fault(d.file, key, err))
}

// warn records a warning about key, placed where its value was set.
func (d *validator) warn(key string, err error) {
	d.warnings = append(d.warnings, d.origins.fault(d.file, key, err))
}

// validate checks what the types alone cannot. It keeps the first fault by
// line, like the loader.
func (d *validator) validate() {
	c := d.c
	l := &c.Listener
	ports := []struct {
		key string
		n   int
	}{{"listenerConfig.httpPort", l.HTTPPort}, {"listenerConfig.httpsPort", l.HTTPSPort}, {"listenerConfig.adminPort", l.AdminPort}}
	for i, p := range ports {
		if p.n < 0 || p.n > 65535 {
			d.fail(p.key, fmt.Errorf("port %d is out of range 0..65535", p.n))
			continue
		}
		for _, q := range ports[:i] {
			if p.n != 0 && p.n == q.n {
				// Point at the key the file writes: the other may be a default.
				a, b := p.key, q.key
				if !d.origins.written(a) {
					a, b = b, a
				}
				d.fail(a, fmt.Errorf("port %d is also %s", p.n, b))
			}
		}
	}
	if l.MaxRequestBodySize < 0 {
		d.fail("listenerConfig.maxRequestBodySize", errors.New("must be 0 (no limit) or a number of bytes"))
	}
	if l.HTTPSPort != 0 && (l.CertFile == "" || l.KeyFile == "") {
		d.fail("listenerConfig.certFile", errors.New("the HTTPS listener needs certFile and keyFile (set httpsPort = 0 to switch it off)"))
	}

	if len(c.JWT) == 0 {
		d.fail("jwtTokenConfig", errors.New("at least one [[jwtTokenConfig]] table (a trusted issuer) is required"))
	}
	d.issuers("jwtTokenConfig", c.JWT, true)
	// A WSO2 API key carries no audience: the issuer alone says it is one.
	d.issuers("apiKeyConfig", c.APIKeys, false)
	d.authentication()

	if h := c.Auth.AuthorizationHeader; !validHeaderName(h) {
		d.fail("authConfig.authorizationHeader", fmt.Errorf("%q is not a valid HTTP header name", h))
	}

	if c.Caching.TokenCacheCapacity < 0 || (c.Caching.Enabled && c.Caching.TokenCacheCapacity == 0) {
		d.fail("caching.tokenCacheCapacity", errors.New("must be positive when caching is enabled"))
	}
	if c.Caching.Enabled && c.Caching.TokenCacheExpiryTime <= 0 {
		d.fail("caching.tokenCacheExpiryTime", errors.New("must be positive when caching is enabled"))
	}

	rt := &c.Revocation.Realtime
	if rt.Enabled {
		if rt.ProviderURL == "" {
			d.fail("tokenRevocationConfig.realtime.jmsConnectionProviderUrl", errors.New("is required when enableRealtimeMessageRetrieval is true"))
		}
		if rt.Topic == "" {
			d.fail("tokenRevocationConfig.realtime.jmsConnectionTopic", errors.New("is required when enableRealtimeMessageRetrieval is true"))
		}
	}
	ps := &c.Revocation.Persistent
	if ps.UseDefault {
		if ps.Enabled && ps.Hostname == "" {
			d.fail("tokenRevocationConfig.persistent.hostname", errors.New("is required when enablePersistentStorageRetrieval is true"))
		}
		if ps.Hostname != "" && len(ps.Endpoints) == 0 {
			if err := httpURL(ps.Hostname); err != nil {
				d.fail("tokenRevocationConfig.persistent.hostname", err)
			}
		}
		for i, e := range ps.Endpoints {
			if err := httpURL(e); err != nil {
				d.fail(fmt.Sprintf("tokenRevocationConfig.persistent.endpoints[%d]", i), err)
			}
		}
		if err := rulesPrefix(ps.RulesPrefix, ps.Hostname); err != nil {
			d.fail("tokenRevocationConfig.persistent.rulesPrefix", err)
		}
		if err := blockingPrefix(ps.BlockingPrefix, ps.RulesPrefix, ps.Hostname); err != nil {
			d.fail("tokenRevocationConfig.persistent.blockingPrefix", err)
		}
		if ps.Store != "" {
			d.fail("tokenRevocationConfig.persistent.store", errors.New("names a custom store: set useDefault = false"))
		}
	}

	for i, s := range c.Throttling.TrustedProxies {
		if _, err := addressRange(s); err != nil {
			d.fail(fmt.Sprintf("throttlingConfig.trustedProxies[%d]", i), err)
		}
	}
	if g := &c.Throttling.Global; g.Enabled {
		if err := redisURL(g.RedisURL); err != nil {
			d.fail("throttlingConfig.global.redisUrl", err)
		}
		if g.Timeout <= 0 {
			d.fail("throttlingConfig.global.timeout", errors.New("must be a positive number of milliseconds"))
		}
	}

	d.validateCORS()
	d.validateStatusList()
	d.validateSSF()
	d.validateEndpoints()

	if c.Tracing.Enabled {
		if _, _, err := c.Tracing.Target(); err != nil {
			d.fail("tracing.endpoint", err)
		}
	}
	if !validLevel(c.Log.Level) {
		d.fail("log.level", fmt.Errorf("level %q is not one of %s", c.Log.Level, strings.Join(logLevels, ", ")))
	}
}

// redisURL checks a redisUrl: redis:// or rediss://, a host, a database
// number as its path. The message never holds the URL (it may carry a
// password).
func redisURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL such as redis://127.0.0.1:6379/0")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return fmt.Errorf("scheme %q: want redis:// (or rediss:// for TLS)", u.Scheme)
	case u.Hostname() == "":
		return errors.New("names no host: want redis://host:port/db")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Errorf("path %q: the path is a database number, as in redis://host:6379/0", u.Path)
		}
	}
	return nil
}

// issuers checks the trusted issuers of a section, [[jwtTokenConfig]] or
// [[apiKeyConfig]]: each named once, with exactly one key source, and an
// audience where the section requires one.
func (d *validator) issuers(section string, list []JWTIssuer, audienceRequired bool) {
	seen := map[string]int{}
	for i, j := range list {
		key := fmt.Sprintf("%s[%d]", section, i)
		switch {
		case j.Issuer == "":
			d.fail(key+".issuer", errors.New("is required"))
		case seen[j.Issuer] > 0:
			d.fail(key+".issuer", fmt.Errorf("issuer %q is already trusted by %s[%d]", j.Issuer, section, seen[j.Issuer]-1))
		default:
			seen[j.Issuer] = i + 1
		}
		// An issuer without an audience would accept tokens minted for any
		// other service of the same issuer.
		if audienceRequired && j.Audience == "" {
			d.fail(key+".audience", errors.New("is required"))
		}
		switch {
		case j.CertificateAlias == "" && j.JWKSURL == "":
			d.fail(key, errors.New("needs certificateAlias or jwksUrl"))
		case j.CertificateAlias != "" && j.JWKSURL != "":
			d.fail(key+".jwksUrl", errors.New("certificateAlias and jwksUrl are both set: choose one key source"))
		case j.JWKSURL != "":
			if err := jwksURL(j.JWKSURL); err != nil {
				d.fail(key+".jwksUrl", err)
			}
		}
		for n, t := range j.TokenTypes {
			if !validTokenType(t) {
				d.fail(fmt.Sprintf("%s.tokenTypes[%d]", key, n), errors.New(`is not a media type such as "at+jwt" or "application/at+jwt"`))
			}
		}
	}
}

func validLevel(s string) bool {
	for _, l := range logLevels {
		if strings.EqualFold(s, l) {
			return true
		}
	}
	return false
}

// httpURL checks an absolute http(s) URL with a host. The URL is not
// echoed: it may carry credentials.
func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http:// or https:// URL with a host")
	}
	return nil
}

// jwksURL checks a jwksUrl: https, or http to the loopback only. Keys
// fetched over plain http from another host could be replaced by anyone on
// the path, who could then sign tokens the gateway accepts.
func jwksURL(s string) error {
	if err := httpURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.Scheme == "https" {
		return nil
	}
	if loopback.Host(u.Hostname()) {
		return nil
	}
	return errors.New("must be an https:// URL (plain http is allowed to the loopback only): keys fetched over http could be replaced on the way")
}

// validHeaderName reports whether s is an RFC 9110 token.
// validTokenType checks a tokenTypes entry: a media type (type/subtype) or,
// as the typ header usually carries it, a subtype alone (RFC 7515 4.1.9).
func validTokenType(s string) bool {
	typ, subtype, found := strings.Cut(s, "/")
	if !found {
		return validHeaderName(s)
	}
	return validHeaderName(typ) && validHeaderName(subtype)
}

func validHeaderName(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// rulesPrefix checks the etcd prefix of revocation rules: not empty, not the
// whole of etcd, printable, and not overlapping the jti prefix of hostname
// (as far as it can be read here; the etcd source checks it again exactly).
func rulesPrefix(p, hostname string) error {
	return etcdPrefix(p, DefaultRulesPrefix, "the rules", hostname)
}

// blockingPrefix checks the etcd prefix of blocking conditions as
// rulesPrefix does, and that it does not overlap the rules prefix either.
func blockingPrefix(p, rules, hostname string) error {
	if err := etcdPrefix(p, DefaultBlockingPrefix, "blocking conditions", hostname); err != nil {
		return err
	}
	if rules != "" && (strings.HasPrefix(p, rules) || strings.HasPrefix(rules, p)) {
		return fmt.Errorf("%q overlaps rulesPrefix %q; give blocking conditions a prefix of their own", p, rules)
	}
	return nil
}

// etcdPrefix checks an etcd key prefix of what (its default def) beside the
// jti prefix of hostname.
func etcdPrefix(p, def, what, hostname string) error {
	switch {
	case p == "":
		return errors.New("is empty (the default is " + def + ")")
	case p == "/":
		return errors.New(`"/" would be every key of etcd`)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return errors.New("contains a control character")
		}
	}
	if _, after, ok := strings.Cut(hostname, "/keys/"); ok {
		jti := strings.TrimSuffix(after, "/") + "/"
		if after != "" && (strings.HasPrefix(p, jti) || strings.HasPrefix(jti, p)) {
			return fmt.Errorf("%q overlaps the jti prefix %q of hostname; give %s a prefix of their own", p, jti, what)
		}
	}
	return nil
}

// Target is the OTLP/gRPC receiver of endpoint: its host:port, and whether
// the connection uses TLS (https://) or plain text (host:port, http://).
func (t Tracing) Target() (hostport string, secure bool, err error) {
	e := t.Endpoint
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil {
			return "", false, errors.New("want host:port, http://host:port or https://host:port")
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", false, fmt.Errorf("scheme %q: want host:port, http://host:port or https://host:port", u.Scheme)
		}
		if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return "", false, errors.New("an OTLP/gRPC endpoint has no path, query or user: want scheme://host:port")
		}
		secure, e = u.Scheme == "https", u.Host
	}
	host, port, err := net.SplitHostPort(e)
	if err != nil || host == "" || port == "" {
		return "", false, fmt.Errorf("%q: want host:port, http://host:port or https://host:port", t.Endpoint)
	}
	return e, secure, nil
}

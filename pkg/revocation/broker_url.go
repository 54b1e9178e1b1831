package revocation

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// BrokerProtocol is the wire protocol spoken to a message broker.
type BrokerProtocol string

// The protocols of jmsConnectionProviderUrl.
const (
	ProtocolSTOMP BrokerProtocol = "stomp" // STOMP 1.2
	ProtocolAMQP  BrokerProtocol = "amqp"  // AMQP 0-9-1
)

// Default ports by protocol and TLS.
const (
	defaultSTOMPPort    = "61613"
	defaultSTOMPTLSPort = "61614"
	defaultAMQPPort     = "5672"
	defaultAMQPTLSPort  = "5671"
)

// BrokerURL is a parsed jmsConnectionProviderUrl.
type BrokerURL struct {
	Protocol BrokerProtocol
	// Addrs are host:port pairs, tried in order; the subscriber moves to
	// the next one when a connection is lost.
	Addrs []string
	// VHost is the virtual host: the STOMP CONNECT host header, or the
	// AMQP vhost. "/" when the URL has no path.
	VHost    string
	Username string
	Password string
	TLS      bool
	// Transformation is the STOMP SUBSCRIBE transformation header asked
	// for with ?transformation=jms-map-json: ActiveMQ then delivers a JMS
	// MapMessage as JSON. Off by default: an ActiveMQ without XStream and
	// Jettison on its class path drops a subscription that asks for it at
	// its first message, plain JSON included.
	Transformation string
}

// String gives the URL in a form fit for logs: the password is never in it.
func (u BrokerURL) String() string {
	var b strings.Builder
	b.WriteString(string(u.Protocol))
	if u.TLS {
		b.WriteString("+tls")
	}
	b.WriteString("://")
	if u.Username != "" {
		b.WriteString(url.User(u.Username).String())
		b.WriteString("@")
	}
	b.WriteString(strings.Join(u.Addrs, ","))
	b.WriteString(" vhost=")
	b.WriteString(u.VHost)
	return b.String()
}

// errBrokerURL is wrapped by every error of ParseBrokerURL.
var errBrokerURL = errors.New("invalid jmsConnectionProviderUrl")

func brokerURLError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBrokerURL, fmt.Sprintf(format, args...))
}

// ParseBrokerURL parses jmsConnectionProviderUrl. username and password are
// jmsConnectionUsername and jmsConnectionPassword: each, where not empty,
// wins over the URL's own. The forms:
//
//	amqp://user:pass@clientid/vhost?brokerlist='tcp://h1:5672;tcp://h2:5672'   Qpid/JMS form
//	amqp://user:pass@host:port/vhost           amqps:// for TLS
//	stomp://host:port[/vhost]                  also tcp://; stomp+ssl:// for TLS
//	stomp://h1:61613,h2:61613                  several brokers for failover
//
// In the Qpid form the URL's host is a JMS client id and is not dialled; a
// broker of the list with the option ssl='true' is reached over TLS. Errors
// never contain the password.
func ParseBrokerURL(raw, username, password string) (BrokerURL, error) {
	u, err := parseBrokerURL(raw, username, password)
	if err != nil {
		// Belt and braces: no piece of the URL quoted in an error may be a
		// password, whatever a malformed URL led the parser to take for it.
		msg := err.Error()
		for _, secret := range []string{password, u.Password} {
			if len(secret) >= 3 && strings.Contains(msg, secret) {
				return BrokerURL{}, brokerURLError("malformed URL (details withheld: they would show the password)")
			}
		}
		return BrokerURL{}, err
	}
	return u, nil
}

func parseBrokerURL(raw, username, password string) (BrokerURL, error) {
	raw = strings.TrimSpace(raw)
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return BrokerURL{}, brokerURLError("want scheme://host, e.g. stomp://localhost:61613 or amqp://user:pass@host:5672/vhost")
	}
	var u BrokerURL
	switch strings.ToLower(scheme) {
	case "stomp", "tcp":
		u.Protocol = ProtocolSTOMP
	case "stomp+ssl", "stomp+tls", "stomps":
		u.Protocol, u.TLS = ProtocolSTOMP, true
	case "amqp":
		u.Protocol = ProtocolAMQP
	case "amqps":
		u.Protocol, u.TLS = ProtocolAMQP, true
	default:
		return u, brokerURLError("unsupported scheme%s (want stomp, stomp+ssl, tcp, amqp or amqps)", brokerURLQuoteScheme(scheme))
	}

	// scheme://[userinfo@]hosts[/path][?query][#fragment], parsed by hand
	// because a list of hosts is no valid URL authority. The userinfo ends
	// at the last '@', so that a password with an unescaped '/', '?', '#'
	// or '@' is still taken whole and never shows up as a host in an error.
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		userinfo := rest[:i]
		rest = rest[i+1:]
		user, pass, _ := strings.Cut(userinfo, ":")
		var err error
		if u.Password, err = url.PathUnescape(pass); err != nil {
			return BrokerURL{Password: pass}, brokerURLError("the password is not well percent-encoded")
		}
		if u.Username, err = url.PathUnescape(user); err != nil {
			return u, brokerURLError("the user name is not well percent-encoded")
		}
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	var query string
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if username != "" {
		u.Username = username
	}
	if password != "" {
		u.Password = password
	}

	vhost, err := url.PathUnescape(strings.TrimPrefix(path, "/"))
	if err != nil {
		return u, brokerURLError("the virtual host (path) is not well percent-encoded")
	}
	if vhost == "" {
		vhost = "/"
	}
	u.VHost = vhost

	brokerlist, hasList, err := brokerURLQpidList(query)
	if err != nil {
		return u, err
	}
	if u.Transformation, err = brokerURLTransformation(query); err != nil {
		return u, err
	}
	if u.Transformation != "" && u.Protocol != ProtocolSTOMP {
		return u, brokerURLError("transformation is an option of stomp:// URLs only")
	}
	switch {
	case hasList && u.Protocol != ProtocolAMQP:
		return u, brokerURLError("brokerlist is an option of the amqp:// (Qpid) form only")
	case hasList:
		// Qpid form: the authority is the client id, the brokers are listed.
		if u.Addrs, u.TLS, err = brokerURLParseList(brokerlist, u.TLS); err != nil {
			return u, err
		}
	default:
		port := defaultSTOMPPort
		switch {
		case u.Protocol == ProtocolSTOMP && u.TLS:
			port = defaultSTOMPTLSPort
		case u.Protocol == ProtocolAMQP && u.TLS:
			port = defaultAMQPTLSPort
		case u.Protocol == ProtocolAMQP:
			port = defaultAMQPPort
		}
		hosts := strings.Split(authority, ",")
		if u.Protocol == ProtocolAMQP && len(hosts) > 1 {
			return u, brokerURLError("several AMQP brokers are listed with brokerlist='tcp://h1:5672;tcp://h2:5672'")
		}
		for _, h := range hosts {
			addr, err := brokerURLAddr(h, port)
			if err != nil {
				return u, err
			}
			u.Addrs = append(u.Addrs, addr)
		}
	}
	return u, nil
}

// brokerURLQpidList finds brokerlist='...' in a Qpid URL's query. The value
// is quoted and may itself hold quoted options (tcp://h:5671?ssl='true'), so
// a quote after '=' opens a nested value and any other quote closes one.
// net/url cannot read this query: it refuses the ';' that separates brokers.
func brokerURLQpidList(query string) (string, bool, error) {
	const key = "brokerlist="
	i := 0
	for {
		// ASCII folding only: strings.ToLower may change the length of
		// non-ASCII bytes, and j must index query itself.
		j := strings.Index(asciiLower(query[i:]), key)
		if j < 0 {
			return "", false, nil
		}
		j += i
		if j == 0 || query[j-1] == '&' {
			i = j + len(key)
			break
		}
		i = j + len(key)
	}
	v := query[i:]
	if !strings.HasPrefix(v, "'") {
		// Unquoted: up to the next option.
		v, _, _ = strings.Cut(v, "&")
		return v, true, nil
	}
	depth := 0
	for k := 1; k < len(v); k++ {
		if v[k] != '\'' {
			continue
		}
		if v[k-1] == '=' {
			depth++
			continue
		}
		if depth == 0 {
			return v[1:k], true, nil
		}
		depth--
	}
	return "", false, brokerURLError("brokerlist has no closing quote")
}

// brokerURLTransformation reads the transformation=... option of a STOMP
// URL's query: jms-map-json or nothing, the one form the decoder reads.
func brokerURLTransformation(query string) (string, error) {
	for _, opt := range strings.Split(query, "&") {
		k, v, _ := strings.Cut(opt, "=")
		if !strings.EqualFold(k, "transformation") {
			continue
		}
		if v != stompMapJSON {
			return "", brokerURLError("transformation: only %s is supported", stompMapJSON)
		}
		return v, nil
	}
	return "", nil
}

// asciiLower lowers A-Z and keeps every other byte, so that the result has
// the same length as s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// brokerURLParseList parses the brokers of a Qpid brokerlist:
// tcp://host:port[?option='value'&...], separated by ';' (or ',').
func brokerURLParseList(list string, tlsDefault bool) ([]string, bool, error) {
	var addrs []string
	useTLS := tlsDefault
	for i, entry := range strings.FieldsFunc(list, func(r rune) bool { return r == ';' || r == ',' }) {
		entry = strings.TrimSpace(entry)
		entry, opts, _ := strings.Cut(entry, "?")
		scheme, hostport, ok := strings.Cut(entry, "://")
		if !ok {
			return nil, false, brokerURLError("brokerlist entry %d: want tcp://host:port", i+1)
		}
		entryTLS := tlsDefault
		switch strings.ToLower(scheme) {
		case "tcp":
		case "ssl":
			entryTLS = true
		default:
			return nil, false, brokerURLError("brokerlist entry %d: unsupported scheme%s (want tcp)", i+1, brokerURLQuoteScheme(scheme))
		}
		for _, opt := range strings.Split(opts, "&") {
			k, v, _ := strings.Cut(opt, "=")
			if strings.EqualFold(strings.TrimSpace(k), "ssl") {
				entryTLS = strings.EqualFold(strings.Trim(v, "' "), "true")
			}
		}
		if i == 0 {
			useTLS = entryTLS
		} else if entryTLS != useTLS {
			return nil, false, brokerURLError("brokerlist mixes TLS and plain brokers")
		}
		port := defaultAMQPPort
		if entryTLS {
			port = defaultAMQPTLSPort
		}
		addr, err := brokerURLAddr(strings.TrimSuffix(hostport, "/"), port)
		if err != nil {
			return nil, false, fmt.Errorf("brokerlist entry %d: %w", i+1, err)
		}
		addrs = append(addrs, addr)
	}
	if len(addrs) == 0 {
		return nil, false, brokerURLError("brokerlist is empty")
	}
	return addrs, useTLS, nil
}

// brokerURLAddr checks one host[:port] and returns host:port.
func brokerURLAddr(hostport, defaultPort string) (string, error) {
	hostport = strings.TrimSpace(hostport)
	if hostport == "" {
		return "", brokerURLError("a broker host is empty")
	}
	host, port := hostport, defaultPort
	if strings.HasPrefix(hostport, "[") || strings.Count(hostport, ":") == 1 {
		h, p, err := net.SplitHostPort(hostport)
		if err != nil {
			if !strings.HasSuffix(hostport, "]") {
				return "", brokerURLError("broker address %q: want host:port", brokerURLClip(hostport))
			}
			h = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
			p = defaultPort
		}
		host, port = h, p
	}
	if host == "" {
		return "", brokerURLError("broker address %q has no host", brokerURLClip(hostport))
	}
	if strings.Contains(host, ":") {
		ip, _, _ := strings.Cut(host, "%") // an IPv6 address, maybe with a zone
		if net.ParseIP(ip) == nil {
			return "", brokerURLError("broker address %q: want host:port, [IPv6]:port", brokerURLClip(hostport))
		}
	}
	for _, r := range host {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("/?#@'\"\\,;[]", r) {
			return "", brokerURLError("broker host %q has a character a host cannot have", brokerURLClip(host))
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", brokerURLError("broker address %q: port must be 1-65535", brokerURLClip(hostport))
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// brokerURLClip bounds a piece of the URL quoted in an error.
func brokerURLClip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// brokerURLQuoteScheme quotes a scheme for an error when it looks like one
// (letters, digits, '+', '-', '.'); anything else might be a misplaced
// password and is left out.
func brokerURLQuoteScheme(scheme string) string {
	if len(scheme) > 20 {
		return ""
	}
	for _, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			return ""
		}
	}
	return fmt.Sprintf(" %q", scheme)
}

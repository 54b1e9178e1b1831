package config

import (
	"fmt"
	"strings"
)

// wso2Only names the settings of a WSO2 Microgateway 3.x micro-gw.conf that
// micro-gw does not have, with what to do instead. A conf carried over from
// a WSO2 deployment is refused key by key like any other unknown key, but the
// error then says why, rather than leaving the user to wonder about a typo.
var wso2Only = map[string]string{
	"analytics":                        "micro-gw publishes no analytics; its counters are on the admin listener's /metrics",
	"apikey":                           "micro-gw accepts JWTs only, not API keys",
	"apiKeyConfig":                     "micro-gw accepts JWTs only, not API keys",
	"b7a.observability":                "micro-gw's metrics are on the admin listener's /metrics",
	"b7a.users":                        "micro-gw has no basic-auth users; it accepts JWTs only",
	"http2":                            "micro-gw's HTTPS listener negotiates HTTP/2 by itself",
	"httpClients":                      "micro-gw's backend client is not configured in the conf",
	"jwtConfig":                        "the JWT header is authConfig.authorizationHeader",
	"jwtGenerator":                     "micro-gw forwards no generated backend JWT",
	"keyManager":                       "micro-gw validates self-contained JWTs locally and calls no key manager",
	"listenerConfig.keyStorePath":      "micro-gw reads its TLS pair from listenerConfig.certFile and listenerConfig.keyFile (PEM)",
	"listenerConfig.keyStorePassword":  "micro-gw reads its TLS pair from listenerConfig.certFile and listenerConfig.keyFile (PEM)",
	"listenerConfig.tokenListenerPort": "micro-gw has no token listener; tokens come from your token service",
	"mutualSSLConfig":                  "micro-gw does not authenticate clients by certificate",
	"throttlingConfig":                 "micro-gw does not throttle; x-wso2-throttling-tier is kept but not enforced",
	"validationConfig":                 "micro-gw does not validate payloads against the definition's schemas",
}

// unknownKeyError is the error for a key or section at schema path that the
// schema does not know: ErrUnknownKey, with the WSO2 explanation or the
// nearest known name when there is one.
func unknownKeyError(path string) error {
	for p := path; p != ""; {
		if why, ok := wso2Only[p]; ok {
			return fmt.Errorf("%w: a WSO2 Microgateway setting that micro-gw does not have (%s); remove it", ErrUnknownKey, why)
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if near := nearestKnown(path); near != "" {
		return fmt.Errorf("%w (did you mean %s?)", ErrUnknownKey, near)
	}
	return ErrUnknownKey
}

// maxSuggestName bounds the names nearestKnown compares: the longest known
// name has 35 bytes.
const maxSuggestName = 64

// nearestKnown returns the known key or table beside path (same parent) whose
// last name is within a small edit distance of path's, ignoring case, or ""
// when none is close: a suggestion must be likely, or it misleads.
func nearestKnown(path string) string {
	parent, name := "", path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	if len(name) > maxSuggestName {
		return "" // no known name is that long, and the distance is quadratic
	}
	best, bestDist := "", max(1, len(name)/4)+1
	consider := func(candidate string) {
		cParent, cName := "", candidate
		if i := strings.LastIndexByte(candidate, '.'); i >= 0 {
			cParent, cName = candidate[:i], candidate[i+1:]
		}
		if cParent != parent {
			return
		}
		if d := editDistance(strings.ToLower(name), strings.ToLower(cName)); d < bestDist || (d == bestDist && candidate < best) {
			best, bestDist = candidate, d
		}
	}
	for k := range fields {
		consider(k)
	}
	for t := range tables {
		consider(t)
	}
	if bestDist > max(1, len(name)/4) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package config

import (
	"errors"
	"fmt"
	"sort"

	"github.com/micro-gw/micro-gw/pkg/passwordhash"
)

// authentication checks the credentials beyond JWT bearer tokens
// (docs/authentication.md): the basic-auth users' hashes, the mutual TLS
// mode and the key manager. A user's hash that is not one is named by its
// key, never shown.
func (d *validator) authentication() {
	c := d.c
	users := make([]string, 0, len(c.B7A.Users))
	for name := range c.B7A.Users {
		users = append(users, name)
	}
	sort.Strings(users)
	for _, name := range users {
		key := "b7a.users." + quoteKey(name)
		switch {
		case name == "" || len(name) > MaxUsernameLength:
			d.fail(key, fmt.Errorf("a username is 1 to %d bytes", MaxUsernameLength))
		case !printableUsername(name):
			d.fail(key, errors.New("a username has no colon (Basic auth splits user and password at the first one), control character or white space"))
		}
		u := c.B7A.Users[name]
		if u.Password == "" {
			d.fail(key+".password", errors.New("is required: the user's password hash (micro-gw hash-password prints one)"))
			continue
		}
		h, err := passwordhash.Parse(u.Password)
		if err != nil {
			d.fail(key+".password", err)
			continue
		}
		if h.Kind() == passwordhash.SHA256 {
			d.warn(key+".password", errors.New("is the original's unsalted @sha256:{hex}, which a GPU guesses at billions a second: replace it with micro-gw hash-password's bcrypt or argon2id"))
		}
	}
	switch c.MutualSSL.SSLVerifyClient {
	case "", VerifyClientOptional, VerifyClientRequire:
	default:
		d.fail("mutualSSLConfig.sslVerifyClient", fmt.Errorf("must be %q or %q (or unset: no client certificates)", VerifyClientOptional, VerifyClientRequire))
	}
	if c.MutualSSL.SSLVerifyClient != "" && c.Listener.HTTPSPort == 0 {
		d.fail("mutualSSLConfig.sslVerifyClient", errors.New("client certificates are asked for by the HTTPS listener, which httpsPort = 0 switches off"))
	}
	km := &c.KeyManager
	if km.IntrospectionURL != "" {
		if err := jwksURL(km.IntrospectionURL); err != nil {
			d.fail("keyManager.introspectionUrl", errors.New("must be an https:// URL (plain http is allowed to the loopback only): tokens and client credentials travel to it"))
		}
		if km.Username == "" {
			d.fail("keyManager.username", errors.New("is required with introspectionUrl: the gateway's client id at the key manager"))
		}
	}
}

// MaxUsernameLength bounds a basic-auth username, in bytes.
const MaxUsernameLength = 256

// printableUsername reports whether name can be sent in Basic auth and
// logged: no colon, no control character and no white space.
func printableUsername(name string) bool {
	for _, r := range name {
		if r == ':' || r <= ' ' || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x85 || r == 0xa0 {
			return false
		}
	}
	return true
}

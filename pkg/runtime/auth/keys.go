package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"slices"
)

// allowedAlgs are the only algorithms ever accepted. HMAC is absent on
// purpose: with a public key as the "secret" anyone could sign; so is none.
var allowedAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// minRSABits refuses keys that can be factored with public effort.
const minRSABits = 2048

// algsFor returns the algorithms a public key can verify. An ECDSA key fits
// only the one algorithm of its curve, so an ES384 token cannot be checked
// against a P-256 key.
func algsFor(pub crypto.PublicKey) ([]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("rsa key of %d bits is too small (at least %d)", k.N.BitLen(), minRSABits)
		}
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []string{"ES256"}, nil
		case elliptic.P384():
			return []string{"ES384"}, nil
		case elliptic.P521():
			return []string{"ES512"}, nil
		}
		return nil, fmt.Errorf("unsupported elliptic curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return []string{"EdDSA"}, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", pub)
}

// narrowAlgs keeps the one algorithm a JWK declares with "alg", if any.
func narrowAlgs(algs []string, alg string) ([]string, error) {
	if alg == "" {
		return algs, nil
	}
	if !slices.Contains(algs, alg) {
		return nil, fmt.Errorf("alg %q does not fit the key", alg)
	}
	return []string{alg}, nil
}

package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
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

// minRSABits refuses keys that can be factored with public effort;
// maxRSABits bounds the work of one verification, which grows with the
// square of the modulus: a 1 MB JWKS could hold a key that takes minutes.
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// algsFor returns the algorithms a public key can verify. An ECDSA key fits
// only the one algorithm of its curve, so an ES384 token cannot be checked
// against a P-256 key.
func algsFor(pub crypto.PublicKey) ([]string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("rsa key of %d bits is too small (at least %d)", k.N.BitLen(), minRSABits)
		}
		if k.N.BitLen() > maxRSABits {
			return nil, fmt.Errorf("rsa key of %d bits is too large (at most %d)", k.N.BitLen(), maxRSABits)
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
		if len(k) != ed25519.PublicKeySize || smallOrder(k) {
			return nil, errors.New("ed25519 key of small order: it would verify forged signatures")
		}
		return []string{"EdDSA"}, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T", pub)
}

var (
	ed25519P = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	ed25519D = func() *big.Int { // -121665/121666 mod p
		d := new(big.Int).ModInverse(big.NewInt(121666), ed25519P)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, ed25519P)
	}()
)

// smallOrder reports whether an Ed25519 public key is a point of order 1,
// 2, 4 or 8. ed25519.Verify checks [S]B = R + [k]A without multiplying by
// the cofactor, so with such a key A anyone can forge: for the identity the
// signature (R = identity, S = 0) verifies every message, for the others
// one message in 8. The key is judged by its y coordinate alone (reduced
// mod p, so that non-canonical encodings are caught too): y = 1 and y = -1
// are the points of order 1 and 2, y = 0 those of order 4, and P is of
// order 8 exactly when 2P has y = 0, that is x² = -y², which on the curve
// -x² + y² = 1 + d·x²·y² means d·y⁴ + 2·y² - 1 = 0.
func smallOrder(pub ed25519.PublicKey) bool {
	le := slices.Clone(pub)
	le[31] &= 0x7f // the sign of x
	slices.Reverse(le)
	y := new(big.Int).SetBytes(le)
	y.Mod(y, ed25519P)
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, ed25519P)
	if y.Sign() == 0 || y2.Cmp(big.NewInt(1)) == 0 {
		return true
	}
	t := new(big.Int).Mul(ed25519D, y2)
	t.Mul(t, y2)
	t.Add(t, new(big.Int).Lsh(y2, 1))
	t.Sub(t, big.NewInt(1))
	return t.Mod(t, ed25519P).Sign() == 0
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

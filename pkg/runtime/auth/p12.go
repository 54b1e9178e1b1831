package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"unicode/utf16"
)

// p12Entry is a certificate of a PKCS#12 trust store with its friendly name.
type p12Entry struct {
	name string
	cert *x509.Certificate
}

// PKCS#12 (RFC 7292) structures, only as far as reading certificate bags.
type p12PFX struct {
	Version  int
	AuthSafe p12ContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type p12ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type p12EncryptedData struct {
	Version int
	Info    p12EncryptedContentInfo
}

type p12EncryptedContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Algorithm   pkix.AlgorithmIdentifier
	Content     []byte `asn1:"tag:0,optional"`
}

type p12SafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  `asn1:"tag:0,explicit"`
	Attributes []p12Attribute `asn1:"set,optional"`
}

type p12Attribute struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

type p12CertBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type p12PBES2Params struct {
	KDF        pkix.AlgorithmIdentifier
	Encryption pkix.AlgorithmIdentifier
}

type p12PBKDF2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Cert      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidFriendlyName  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 20}
	oidPBES2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1      = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA512    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// p12Entries reads the certificate bags of a PKCS#12 file with their
// friendly names. go-pkcs12 verifies the file (MAC, password) but drops the
// names; this reads them, for unencrypted and PBES2 (AES) encrypted
// contents, which is what keytool (JDK 12 and later), OpenSSL 3 and
// go-pkcs12's Modern encoder write. Integrity is not checked here: call it
// only after pkcs12.DecodeTrustStore accepted the same data.
func p12Entries(data []byte, password string) ([]p12Entry, error) {
	var pfx p12PFX
	if err := unmarshalAll(data, &pfx); err != nil {
		return nil, err
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, errors.New("pkcs12: public-key protected files are not supported")
	}
	var authSafe []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, err
	}
	var infos []p12ContentInfo
	if err := unmarshalAll(authSafe, &infos); err != nil {
		return nil, err
	}
	var out []p12Entry
	for _, ci := range infos {
		var contents []byte
		switch {
		case ci.ContentType.Equal(oidData):
			if err := unmarshalAll(ci.Content.Bytes, &contents); err != nil {
				return nil, err
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed p12EncryptedData
			if err := unmarshalAll(ci.Content.Bytes, &ed); err != nil {
				return nil, err
			}
			var err error
			if contents, err = pbes2Decrypt(ed.Info.Algorithm, ed.Info.Content, password); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("pkcs12: unsupported content type %s", ci.ContentType)
		}
		var bags []p12SafeBag
		if err := unmarshalAll(contents, &bags); err != nil {
			return nil, err
		}
		for _, bag := range bags {
			if !bag.ID.Equal(oidCertBag) {
				continue
			}
			var cb p12CertBag
			if err := unmarshalAll(bag.Value.Bytes, &cb); err != nil {
				return nil, err
			}
			if !cb.ID.Equal(oidX509Cert) {
				continue
			}
			cert, err := x509.ParseCertificate(cb.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, p12Entry{name: friendlyName(bag.Attributes), cert: cert})
		}
	}
	return out, nil
}

func unmarshalAll(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return fmt.Errorf("pkcs12: %w", err)
	}
	if len(rest) != 0 {
		return errors.New("pkcs12: trailing data")
	}
	return nil
}

// friendlyName decodes the BMPString of the friendlyName attribute.
func friendlyName(attrs []p12Attribute) string {
	for _, a := range attrs {
		if !a.ID.Equal(oidFriendlyName) {
			continue
		}
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(a.Value.Bytes, &raw); err != nil || raw.Tag != 30 || len(raw.Bytes)%2 != 0 {
			return ""
		}
		u := make([]uint16, len(raw.Bytes)/2)
		for i := range u {
			u[i] = uint16(raw.Bytes[2*i])<<8 | uint16(raw.Bytes[2*i+1])
		}
		return string(utf16.Decode(u))
	}
	return ""
}

// pbes2Decrypt decrypts PBES2 (RFC 8018) with PBKDF2 and AES-CBC. The
// password is UTF-8, as RFC 8018 recommends and OpenSSL and keytool do.
func pbes2Decrypt(alg pkix.AlgorithmIdentifier, ct []byte, password string) ([]byte, error) {
	if !alg.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("pkcs12: legacy encryption %s is not supported", alg.Algorithm)
	}
	var params p12PBES2Params
	if err := unmarshalAll(alg.Parameters.FullBytes, &params); err != nil {
		return nil, err
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, errors.New("pkcs12: unsupported key derivation")
	}
	var kdf p12PBKDF2Params
	if err := unmarshalAll(params.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, err
	}
	var prf func() hash.Hash
	switch {
	case kdf.PRF.Algorithm == nil || kdf.PRF.Algorithm.Equal(oidHMACSHA1):
		prf = sha1.New
	case kdf.PRF.Algorithm.Equal(oidHMACSHA256):
		prf = sha256.New
	case kdf.PRF.Algorithm.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, errors.New("pkcs12: unsupported pbkdf2 prf")
	}
	var keyLen int
	switch {
	case params.Encryption.Algorithm.Equal(oidAES128CBC):
		keyLen = 16
	case params.Encryption.Algorithm.Equal(oidAES192CBC):
		keyLen = 24
	case params.Encryption.Algorithm.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, errors.New("pkcs12: unsupported pbes2 cipher")
	}
	// Bound the work an odd file can ask for; real files use 2048..600000.
	if kdf.Iterations < 1 || kdf.Iterations > 10_000_000 {
		return nil, errors.New("pkcs12: unreasonable pbkdf2 iteration count")
	}
	key, err := pbkdf2.Key(prf, password, kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: %w", err)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(params.Encryption.Parameters.FullBytes, &iv); err != nil || len(iv) != block.BlockSize() {
		return nil, errors.New("pkcs12: bad pbes2 iv")
	}
	if len(ct) == 0 || len(ct)%block.BlockSize() != 0 {
		return nil, errors.New("pkcs12: bad ciphertext length")
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > block.BlockSize() {
		return nil, errors.New("pkcs12: decryption failed")
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, errors.New("pkcs12: decryption failed")
		}
	}
	return pt[:len(pt)-pad], nil
}

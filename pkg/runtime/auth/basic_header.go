package auth

import (
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/micro-gw/micro-gw/pkg/internal/ascii"
	"github.com/micro-gw/micro-gw/pkg/passwordhash"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// MaxBasicHeaderSize bounds the Authorization header of Basic auth: the
// longest username and password fit with room to spare, and anything
// larger is refused before it is decoded.
const MaxBasicHeaderSize = 4 << 10

// base64Bytes are those of standard base64 with its padding.
var base64Bytes = ascii.AlnumAnd("+/=")

// BasicFromRequest reads RFC 7617 credentials from the Authorization
// header: "Basic " and the base64 of user:password. No header is missing
// credentials (900902); two headers, another scheme, a value over
// MaxBasicHeaderSize, bad base64, no colon, an empty or over-long user or
// password, or a user that is not UTF-8 are invalid (900901). Nothing of
// the credentials is in an error.
func BasicFromRequest(h http.Header) (user, password string, e *Error) {
	vals := h["Authorization"]
	switch {
	case len(vals) == 0:
		return "", "", errMissing
	case len(vals) > 1:
		return "", "", errTwoHeaders
	}
	v := vals[0]
	if len(v) > MaxBasicHeaderSize {
		return "", "", errBasicTooLarge
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "", errMissing
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", errBasicScheme
	}
	rest = strings.TrimSpace(rest)
	// Go's base64 decoders skip CR and LF even when strict.
	if !base64Bytes.All(rest) {
		return "", "", errBasicMalformed
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil {
		// Some clients leave out the padding.
		if raw, err = base64.RawStdEncoding.Strict().DecodeString(rest); err != nil {
			return "", "", errBasicMalformed
		}
	}
	user, password, ok := strings.Cut(string(raw), ":")
	switch {
	case !ok || user == "" || password == "" || !utf8.ValidString(user):
		return "", "", errBasicMalformed
	case len(user) > config.MaxUsernameLength || len(password) > passwordhash.MaxPasswordLength:
		return "", "", errBasicTooLarge
	}
	return user, password, nil
}

// Package statuslist is the IETF OAuth Token Status List
// (draft-ietf-oauth-status-list) as micro-gw reads and writes it: the
// status claim of a token (Reference), the list of statuses (List), the
// signed Status List Token's claims (ReadToken), and the fetching and
// caching of lists for the request path (Fetcher, Lists). docs/revocation.md,
// "Token Status List", says what the gateway does with them.
package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// Statuses of a referenced token (the draft's registry). Any other value is
// refused as well by the gateway: a status it does not understand cannot be
// read as valid.
const (
	Valid     = 0x00
	Invalid   = 0x01
	Suspended = 0x02
)

// MaxListBytes bounds a list once decompressed: 32 MiB, 268 million entries
// of one bit or 33 million of eight. A list is held decompressed, so this is
// also what one list may cost in memory; anything larger is refused rather
// than inflated (a small compressed list can claim gigabytes).
const MaxListBytes = 32 << 20

// ErrInvalid is wrapped by every error about the form of a list, a Status
// List Token or a status claim. Its messages never quote the input.
var ErrInvalid = errors.New("invalid token status list")

// List is a decompressed status list: each entry Bits wide (1, 2, 4 or 8),
// packed least significant bits first, as the draft lays them out. Looking an
// entry up is one byte read; the list costs its own bits in memory.
type List struct {
	bits uint8
	data []byte
}

// NewList returns a list of n entries of bits each, all Valid.
func NewList(bits, n int) (*List, error) {
	if !validBits(bits) {
		return nil, fmt.Errorf("%w: bits must be 1, 2, 4 or 8, not %d", ErrInvalid, bits)
	}
	size := (n*bits + 7) / 8
	if n < 0 || size > MaxListBytes {
		return nil, fmt.Errorf("%w: a list of %d entries of %d bits is larger than %d bytes", ErrInvalid, n, bits, MaxListBytes)
	}
	return &List{bits: uint8(bits), data: make([]byte, size)}, nil
}

func validBits(b int) bool { return b == 1 || b == 2 || b == 4 || b == 8 }

// Bits is the width of an entry.
func (l *List) Bits() int { return int(l.bits) }

// Len is the number of entries the list holds (its bytes times the entries
// of a byte: the last byte may hold entries nobody was given).
func (l *List) Len() int { return len(l.data) * 8 / int(l.bits) }

// Size is the list's memory in bytes.
func (l *List) Size() int { return len(l.data) }

// Status returns the status at idx; ok is false past the end of the list.
func (l *List) Status(idx uint64) (status uint8, ok bool) {
	bit := idx * uint64(l.bits)
	if idx >= 1<<56 || bit/8 >= uint64(len(l.data)) {
		return 0, false
	}
	mask := uint8(1)<<l.bits - 1
	return l.data[bit/8] >> (bit % 8) & mask, true
}

// Set sets the status at idx. It reports false when idx is past the end or
// the status does not fit in Bits.
func (l *List) Set(idx uint64, status uint8) bool {
	mask := uint8(1)<<l.bits - 1
	bit := idx * uint64(l.bits)
	if status&^mask != 0 || idx >= 1<<56 || bit/8 >= uint64(len(l.data)) {
		return false
	}
	shift := bit % 8
	b := &l.data[bit/8]
	*b = *b&^(mask<<shift) | status<<shift
	return true
}

// Clone returns a copy that Set does not share.
func (l *List) Clone() *List {
	return &List{bits: l.bits, data: bytes.Clone(l.data)}
}

// Encode returns the list's lst: base64url (no padding) of its bytes
// compressed with ZLIB (RFC 1950), as the draft has it.
func (l *List) Encode() string {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression) // a valid level: no error
	_, _ = zw.Write(l.data)                                  // a bytes.Buffer does not fail
	_ = zw.Close()
	return base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// DecodeList reads a status_list's bits and lst. The list is decompressed
// once, here; it must inflate to at most MaxListBytes, and hold one entry at
// least.
func DecodeList(bits int, lst string) (*List, error) {
	return decodeList(bits, lst, MaxListBytes)
}

// decodeList is DecodeList with the bound as a parameter (tests use a small one).
func decodeList(bits int, lst string, maxBytes int) (*List, error) {
	if !validBits(bits) {
		return nil, fmt.Errorf("%w: bits must be 1, 2, 4 or 8", ErrInvalid)
	}
	compressed, err := base64.RawURLEncoding.Strict().DecodeString(lst)
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not base64url without padding", ErrInvalid)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not ZLIB-compressed", ErrInvalid)
	}
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, int64(maxBytes)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: lst does not decompress (%s)", ErrInvalid, zlibErrorKind(err))
	case len(data) > maxBytes:
		return nil, fmt.Errorf("%w: lst decompresses to more than %d bytes", ErrInvalid, maxBytes)
	case len(data) == 0:
		return nil, fmt.Errorf("%w: lst is an empty list", ErrInvalid)
	}
	if cap(data) > len(data)+len(data)/8 {
		// ReadAll grows by doubling: keep the list at its own size.
		data = bytes.Clone(data)
	}
	return &List{bits: uint8(bits), data: data}, nil
}

// zlibErrorKind names a decompression error without any of the input.
func zlibErrorKind(err error) string {
	switch {
	case errors.Is(err, zlib.ErrChecksum):
		return "checksum mismatch"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	default:
		return "corrupt data"
	}
}

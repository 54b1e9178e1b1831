package statuslist

import (
	"errors"
	"testing"
)

// FuzzDecodeList: any bits and lst (a list comes from the network) are
// refused with ErrInvalid or read into a list no larger than the bound,
// whose every lookup answers without panicking. The bound is 64 KiB, not
// MaxListBytes: inflating and re-compressing 32 MiB an input held the
// fuzzer at a few executions a second, and the bound is a parameter.
const fuzzMaxBytes = 64 << 10

func FuzzDecodeList(f *testing.F) {
	f.Add(1, "eNrbuRgAAhcBXQ")
	f.Add(2, "eNo76fITAAPfAgc")
	f.Add(8, "eNo6yfAfEAAA__8DXQHJ") // 201, 0, 255: statuses past 1<<bits of a narrower list
	f.Add(4, "AAAA")
	f.Fuzz(func(t *testing.T, bits int, lst string) {
		l, err := decodeList(bits, lst, fuzzMaxBytes)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if l.Size() > fuzzMaxBytes || l.Len() == 0 {
			t.Fatalf("list of %d bytes, %d entries", l.Size(), l.Len())
		}
		for _, idx := range []uint64{0, uint64(l.Len() - 1), uint64(l.Len()), 1 << 62, ^uint64(0)} {
			st, ok := l.Status(idx)
			// int(st): compared with a uint8, 1<<bits would be a uint8 too, and 0
			// when bits is 8.
			if ok != (idx < uint64(l.Len())) || int(st) >= 1<<bits {
				t.Fatalf("Status(%d) = %d %v on a list of %d", idx, st, ok, l.Len())
			}
		}
		back, err := decodeList(bits, l.Encode(), fuzzMaxBytes)
		if err != nil || back.Size() != l.Size() {
			t.Fatalf("re-encoded list reads as %v, %v", back, err)
		}
	})
}

// FuzzReadToken: the claims of a Status List Token and the status claim of
// a token (both JSON from outside) are refused with ErrInvalid or read into
// values within their bounds.
func FuzzReadToken(f *testing.F) {
	f.Add(`{"sub":"https://idp/l/1","iat":1686920170,"ttl":43200,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}`)
	f.Add(`{"status":{"status_list":{"idx":12,"uri":"https://idp/statuslists/1"}}}`)
	f.Add(`{"status":{"status_list":{"idx":1e300,"uri":"https://[::1]:80/x"}}}`)
	f.Fuzz(func(t *testing.T, js string) {
		claims := claimsOf(t, `{}`)
		if err := decodeJSON(js, &claims); err != nil {
			return
		}
		if tok, err := ReadToken(claims); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ReadToken error does not wrap ErrInvalid: %v", err)
			}
		} else if tok.Subject == "" || tok.List == nil || tok.TTL < 0 || tok.TTL > maxTTL {
			t.Fatalf("ReadToken = %+v", tok)
		}
		if ref, ok, err := ReadReference(claims); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ReadReference error does not wrap ErrInvalid: %v", err)
			}
		} else if ok && (ref.URI == "" || len(ref.URI) > MaxURILength || ref.Index > 1<<53) {
			t.Fatalf("ReadReference = %+v", ref)
		}
	})
}

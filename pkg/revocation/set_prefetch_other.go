//go:build !amd64

package revocation

import "unsafe"

// prefetch does nothing where the package has no instruction for it: the
// inserts of a batch then read their lines one after the other.
func prefetch(unsafe.Pointer) {}

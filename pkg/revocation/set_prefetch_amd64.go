package revocation

import "unsafe"

// prefetch asks the processor to bring the line at p into its cache, and
// goes on at once. Unlike a load, it is not held up by, and does not hold
// up, the fences of the writers' atomic operations.
//
//go:noescape
func prefetch(p unsafe.Pointer)

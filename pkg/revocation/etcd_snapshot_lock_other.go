//go:build !unix

package revocation

import (
	"errors"
	"os"
)

// errSnapshotLocked says another process writes the snapshot.
var errSnapshotLocked = errors.New("locked by another process")

// lockFile fails: without file locks two gateways could write one snapshot
// at once, so a snapshot is only read on this system.
func lockFile(*os.File) error {
	return errors.New("no file locks on this system: the snapshot is read, never written")
}

//go:build unix

package revocation

import (
	"errors"
	"os"
	"syscall"
)

// errSnapshotLocked says another process writes the snapshot.
var errSnapshotLocked = errors.New("locked by another process")

// lockFile takes an exclusive lock of f without waiting; it lasts until f is
// closed or the process ends.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errSnapshotLocked
	}
	return err
}

//go:build unix

package state

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with this PID exists on this host
// (in this PID namespace). EPERM means it exists but belongs to another user.
func processGone(pid int) bool {
	if pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

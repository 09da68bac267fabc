//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal: whether the terminal driver
// answers for it. A character device alone is not enough: /dev/null is one,
// and a CI job that gives it as stdin must get logs and a refusal to apply
// without --auto-approve, not progress lines and a prompt nobody answers.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

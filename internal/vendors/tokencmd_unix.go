//go:build unix

package vendors

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// runCommand runs argv in a process group of its own, so that when ctx ends
// (tokenCommandTimeout, or the process is stopping) the command and every
// child it started are killed together: a shell script's `sleep` or `curl`
// must not outlive it or hold its output open.
func runCommand(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &stdout, n: maxCommandOutput}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child left running with the output pipe open must not keep Wait
	// waiting once the command has exited.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever of the group is left (a background child) goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		err = nil
	}
	return stdout.Bytes(), err
}

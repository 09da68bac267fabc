package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"groupsync/internal/state"
)

// TestInterruptedApplyExits1: the binary's apply, sent SIGINT or SIGTERM
// once its first group is recorded, finishes the call in flight, prints
// what was done and to apply again, and exits 1 (a CI step must not turn
// green); the next apply finishes the rest, nothing made twice.
func TestInterruptedApplyExits1(t *testing.T) {
	groupsyncBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			const token = "interrupt-token"
			w := newVendorWorld(t, token)
			w.setChaos(chaosConfig{MinLatency: 80 * time.Millisecond, MaxLatency: 120 * time.Millisecond, Seed: int64(sig)})
			dir := t.TempDir()
			manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "int", Yunzhijia: 5, Lunkr: 2, Members: 2, Notices: 1})
			statePath := filepath.Join(dir, "groupsync.db")
			c := newCLI(t, dir, tokenEnv+"="+token)
			args := []string{"apply", "--auto-approve", "-f", manifest, "--state", statePath, "--parallelism", "1"}

			cmd, stdout, stderr := c.command(context.Background(), args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			waitForBinding(t, statePath)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Errorf("apply sent %v: %v, want exit 1\nstdout:\n%s\nstderr:\n%s", sig, err, stdout, stderr)
			}
			for _, want := range []string{"Apply interrupted: ", "(interrupted)", "Run `groupsync apply` again to finish"} {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("apply sent %v does not say %q\n%s", sig, want, stdout)
				}
			}
			w.quiet()
			again := c.runOK(t, args)
			if !strings.Contains(again.stdout, "Apply complete") {
				t.Errorf("the apply after the interrupt\n%s", again)
			}
			w.checkNoDuplicates(t, fmt.Sprintf("after an apply interrupted by %v", sig))
		})
	}
}

// waitForBinding waits until the state at path records a group.
func waitForBinding(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		s, err := state.Open(path)
		must(t, err)
		b, err := s.Bindings(context.Background())
		s.Close()
		must(t, err)
		if len(b) > 0 {
			return
		}
	}
	t.Fatal("the apply recorded no group within 30s")
}

// TestDevNullIsNoTerminal: with /dev/null as stdin and stdout (a character
// device, but no terminal), apply does not prompt and cancel: it refuses
// without --auto-approve and logs, as in any script.
func TestDevNullIsNoTerminal(t *testing.T) {
	groupsyncBinary(t)
	const token = "devnull-token"
	w := newVendorWorld(t, token)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "null", Yunzhijia: 1, Lunkr: 1, Members: 1})
	c := newCLI(t, dir, tokenEnv+"="+token)
	cmd, _, stderr := c.command(context.Background(), "apply", "-f", manifest, "--state", filepath.Join(dir, "groupsync.db"))
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cmd.Stdin, cmd.Stdout = devNull, devNull
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "apply needs --auto-approve when not run from a terminal") {
		t.Errorf("apply with /dev/null as stdin and stdout: %v\n%s", err, stderr)
	}
	if w.writeCalls() != 0 {
		t.Errorf("%d write calls", w.writeCalls())
	}
}

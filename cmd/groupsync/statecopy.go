package main

import (
	"context"
	"fmt"
	"time"

	"groupsync/internal/state"
)

// stateCopy copies the whole state at from (a file, a postgres:// URL or a
// connection string) to to, holding both locks: `groupsync state copy FROM
// TO`. A target that holds anything is replaced only with force. The
// counts are checked after the copy.
func (a *app) stateCopy(ctx context.Context, from, to string, force bool, stale time.Duration) error {
	if err := (lockFlags{stale: stale}).check(); err != nil {
		return err
	}
	fromFlags := &commonFlags{state: state.RedactLocation(from), stateRaw: from}
	toFlags := &commonFlags{state: state.RedactLocation(to), stateRaw: to}
	if from == to {
		return fmt.Errorf("state copy: %s is both the source and the target", fromFlags.state)
	}
	if state.FileMissing(from) {
		return fmt.Errorf("state file %s does not exist: nothing to copy", from)
	}
	src, err := state.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := state.Open(to)
	if err != nil {
		return err
	}
	defer dst.Close()
	const command = "groupsync state copy"
	unlockSrc, err := a.lock(ctx, src, command, fromFlags, lockFlags{stale: stale}, nil)
	if err != nil {
		return err
	}
	defer unlockSrc()
	unlockDst, err := a.lock(ctx, dst, command, toFlags, lockFlags{stale: stale}, nil)
	if err != nil {
		return err
	}
	defer unlockDst()
	have, err := dst.Counts(ctx)
	if err != nil {
		return err
	}
	if !have.Empty() && !force {
		return fmt.Errorf("state copy: the target %s is not empty (%s); nothing was copied\nhint: --force replaces what it holds", toFlags.state, have)
	}
	c, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Copied %s (serial %d) from %s to %s.\n", c, c.Serial, fromFlags.state, toFlags.state)
	return nil
}

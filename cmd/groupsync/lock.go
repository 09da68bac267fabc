package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"groupsync/internal/state"
)

// lockFlags are the flags of every command that takes the state lock.
type lockFlags struct {
	timeout time.Duration // --lock-timeout: wait for a live holder
	stale   time.Duration // --lock-stale: take over a lock whose heartbeat is older
}

// addLockStale adds --lock-stale; --lock-timeout stays with each command,
// whose help says what a zero means there.
func addLockStale(fs *flag.FlagSet, stale *time.Duration) {
	fs.DurationVar(stale, "lock-stale", state.DefaultLockStale,
		"take over a lock whose holder's heartbeat is older than this, whatever host held it (a killed pod or CI runner)")
}

func (l lockFlags) check() error {
	if l.timeout < 0 {
		return fmt.Errorf("--lock-timeout: must not be negative, got %s", l.timeout)
	}
	if l.stale <= 0 {
		return fmt.Errorf("--lock-stale: must be positive, got %s", l.stale)
	}
	return nil
}

// lock takes the state lock for command. A lock taken over from a holder
// that is gone is warned of in log, or on stderr when log is nil; a held
// lock's error names the exact `state unlock` command for this state file.
func (a *app) lock(ctx context.Context, store *state.Store, command string, c *commonFlags, l lockFlags, log *slog.Logger) (func() error, error) {
	unlock, err := store.LockWith(ctx, command, state.LockOptions{
		Wait:  l.timeout,
		Stale: l.stale,
		TakenOver: func(prev state.LockInfo, why string) {
			since := prev.Since.UTC().Format(time.RFC3339)
			if log != nil {
				log.Warn("took over the lock of the state file", "state", c.state, "lockId", prev.ID, "pid", prev.PID,
					"host", prev.Host, "since", since, "command", prev.Command, "reason", why)
				return
			}
			fmt.Fprintf(a.stderr, "warning: took over the lock of state file %s (lock id %s, PID %d on host %s since %s, %s): %s\n",
				c.state, prev.ID, prev.PID, prev.Host, since, prev.Command, why)
		},
	})
	var le *state.LockedError
	if errors.As(err, &le) {
		le.UnlockArgs = c.stateArg(a.getenv)
	}
	return unlock, err
}

// stateArg is " --state FILE" when the state file is not the default (nor
// GROUPSYNC_STATE's), for the commands a message tells the user to run.
func (c *commonFlags) stateArg(getenv func(string) (string, bool)) string {
	def := "groupsync.db"
	if v, ok := getenv("GROUPSYNC_STATE"); ok && v != "" {
		def = v
	}
	if c.stateRaw == def {
		return ""
	}
	return " --state " + shellWord(c.state)
}

// shellWord quotes s for a POSIX shell when it holds anything but plain
// path characters, so that a printed command can be pasted as it is.
func shellWord(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,=", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// stateUnlock clears the lock with id by hand, after asking (or --yes).
// A wrong id is refused with the lock that is there, so that an operator
// never clears a lock taken since they looked.
func (a *app) stateUnlock(ctx context.Context, store *state.Store, c *commonFlags, id string, yes bool) error {
	cur, held, err := store.LockHolder(ctx)
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("state file %s is not locked: nothing to unlock", c.state)
	}
	if cur.ID != id {
		return fmt.Errorf("state file %s is locked with lock id %s, not %s (PID %d on host %s since %s, %s); nothing was changed\nhint: check the id in the \"locked\" error; to clear this lock run `groupsync state unlock %s%s`",
			c.state, cur.ID, id, cur.PID, cur.Host, cur.Since.UTC().Format(time.RFC3339), cur.Command, cur.ID, c.stateArg(a.getenv))
	}
	prompt := fmt.Sprintf("Clear lock %s of state file %s, held by PID %d on host %s since %s (%s), last heartbeat %s?\n"+
		"Only do this when that process is gone: two applies at once may act twice. Type 'yes': ",
		cur.ID, c.state, cur.PID, cur.Host, cur.Since.UTC().Format(time.RFC3339), cur.Command, cur.Heartbeat.UTC().Format(time.RFC3339))
	if !yes && !a.confirm(prompt) {
		return errors.New("state unlock cancelled; nothing was changed (use --yes when not on a terminal)")
	}
	now, removed, err := store.BreakLock(ctx, id)
	if err != nil {
		return err
	}
	if !removed {
		if now.ID == "" {
			return fmt.Errorf("the lock %s of state file %s was released meanwhile: nothing to unlock", id, c.state)
		}
		return fmt.Errorf("the lock of state file %s changed meanwhile: it is now lock id %s (PID %d on host %s); nothing was changed", c.state, now.ID, now.PID, now.Host)
	}
	fmt.Fprintf(a.stdout, "Cleared lock %s of state file %s (was PID %d on host %s).\n", id, c.state, cur.PID, cur.Host)
	return nil
}

// printLock says who holds the state's lock, if anyone (state list).
func (a *app) printLock(ctx context.Context, store *state.Store) error {
	h, held, err := store.LockHolder(ctx)
	if err != nil || !held {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "\nLocked by PID %d on host %s since %s (%s); lock id %s, last heartbeat %s.\n",
		h.PID, esc(h.Host), h.Since.UTC().Format(time.RFC3339), esc(h.Command), h.ID, h.Heartbeat.UTC().Format(time.RFC3339))
	return err
}

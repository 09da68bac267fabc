package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrLocked is matched (errors.Is) by every *LockedError.
var ErrLocked = errors.New("state file is locked")

// LockInfo describes the holder of the lock.
type LockInfo struct {
	PID     int
	Host    string
	Since   time.Time // UTC
	Command string    // e.g. "groupsync apply"
}

// LockedError is returned by Lock when another process holds the lock.
type LockedError struct {
	Path   string
	Holder LockInfo
}

func (e *LockedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "state file %s is locked by PID %d on host %s since %s",
		e.Path, e.Holder.PID, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339))
	if e.Holder.Command != "" {
		fmt.Fprintf(&b, " (%s)", e.Holder.Command)
	}
	b.WriteString("\nhint: wait for that process to finish, or pass --lock-timeout to wait for it;" +
		" a lock is taken over only when its holder is provably gone (same host, process no longer running)")
	return b.String()
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockPoll is how often a waiting Lock retries.
const lockPoll = 100 * time.Millisecond

// held holds the tokens of the locks this process holds, so that a lock row
// carrying this process's PID but not one of its tokens is known to be left
// by an earlier process that had the same PID (a restarted container).
var held sync.Map // token -> struct{}

// holder is a lock row: who holds it and how to tell whether it is gone.
type holder struct {
	LockInfo
	bootID   string // kernel boot id; differs after a reboot
	pidNS    string // PID namespace; PIDs compare only within one
	pidStart string // the process's start time, to detect a reused PID
	token    string // unique to one Lock call
}

// Lock takes the state file's lock for command (one apply or run at a
// time). When another live process holds it, Lock polls until wait has
// elapsed (wait <= 0: not at all) and then returns a *LockedError. A lock is
// taken over only when provably stale: its holder ran on this host and is no
// longer running. unlock releases the lock if it is still ours; call it
// before Close.
func (s *Store) Lock(ctx context.Context, command string, wait time.Duration) (unlock func() error, err error) {
	me, err := self(command)
	if err != nil {
		return nil, fmt.Errorf("lock state file %s: %w", s.path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		other, err := s.tryLock(ctx, me)
		if err != nil {
			return nil, fmt.Errorf("lock state file %s: %w", s.path, err)
		}
		if other == nil {
			held.Store(me.token, struct{}{})
			return s.unlocker(me.token), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &LockedError{Path: s.path, Holder: other.LockInfo}
		}
		t := time.NewTimer(min(left, lockPoll))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock state file %s: %w", s.path, ctx.Err())
		case <-t.C:
		}
	}
}

// tryLock takes the lock for me in one IMMEDIATE transaction, or returns
// the live holder.
func (s *Store) tryLock(ctx context.Context, me holder) (*holder, error) {
	var other *holder
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		h, found, err := lockRow(ctx, tx)
		if err != nil {
			return err
		}
		if found && !h.stale(me) {
			other = &h
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO lock
			(id, pid, host, boot_id, pid_ns, pid_start, since, command, token)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
			me.PID, me.Host, me.bootID, me.pidNS, me.pidStart, formatTime(me.Since), me.Command, me.token)
		return err
	})
	return other, err
}

// unlocker returns the idempotent release function of the lock token.
func (s *Store) unlocker(token string) func() error {
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			held.Delete(token)
			_, err = s.db.ExecContext(context.Background(), "DELETE FROM lock WHERE token = ?", token)
			if err != nil {
				err = fmt.Errorf("unlock state file %s: %w", s.path, err)
			}
		})
		return err
	}
}

// LockHolder returns the current holder of the lock, and false when the
// lock is free. The holder may be stale.
func (s *Store) LockHolder(ctx context.Context) (LockInfo, bool, error) {
	h, found, err := lockRow(ctx, s.db)
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("read lock of state file %s: %w", s.path, err)
	}
	return h.LockInfo, found, nil
}

// BreakLock removes the lock whoever holds it and returns the holder it
// removed. It is for an operator who knows the holder is gone (for example
// on another host); Lock never does this by itself.
func (s *Store) BreakLock(ctx context.Context) (LockInfo, bool, error) {
	var h holder
	var found bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if h, found, err = lockRow(ctx, tx); err != nil || !found {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM lock")
		return err
	})
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("break lock of state file %s: %w", s.path, err)
	}
	return h.LockInfo, found, nil
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lockRow(ctx context.Context, q rowQuerier) (holder, bool, error) {
	var h holder
	var since sql.NullString
	err := q.QueryRowContext(ctx, `SELECT pid, host, boot_id, pid_ns, pid_start, since, command, token
		FROM lock WHERE id = 1`).Scan(&h.PID, &h.Host, &h.bootID, &h.pidNS, &h.pidStart, &since, &h.Command, &h.token)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	h.Since, err = parseTime(since)
	return h, true, err
}

// stale reports whether h provably no longer holds the lock, as seen by me.
// Only a holder on this host, in this PID namespace, can be proved gone.
func (h holder) stale(me holder) bool {
	if h.Host != me.Host {
		return false
	}
	if h.bootID != "" && me.bootID != "" && h.bootID != me.bootID {
		return true // this host rebooted since
	}
	if h.pidNS != me.pidNS {
		return false
	}
	if h.PID == me.PID {
		_, ours := held.Load(h.token)
		return !ours
	}
	if processGone(h.PID) {
		return true
	}
	start := procStart(h.PID)
	return h.pidStart != "" && start != "" && start != h.pidStart // the PID was reused
}

// self describes this process as a lock holder.
func self(command string) (holder, error) {
	host, err := os.Hostname()
	if err != nil {
		return holder{}, err
	}
	var tok [16]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return holder{}, err
	}
	pid := os.Getpid()
	return holder{
		LockInfo: LockInfo{PID: pid, Host: host, Since: now(), Command: command},
		bootID:   readTrim("/proc/sys/kernel/random/boot_id"),
		pidNS:    pidNamespace(),
		pidStart: procStart(pid),
		token:    hex.EncodeToString(tok[:]),
	}, nil
}

// procStart is a process's start time in clock ticks since boot (Linux), or
// "" when unknown.
func procStart(pid int) string {
	stat := readTrim(fmt.Sprintf("/proc/%d/stat", pid))
	// The command name (field 2) may hold spaces and parentheses: the
	// fields after it start after the last ')'. starttime is field 22.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// pidNamespace identifies this process's PID namespace (Linux), or "".
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return ns
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

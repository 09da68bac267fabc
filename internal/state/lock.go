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

// DefaultLockStale is how old a lock's heartbeat must be before another
// process takes the lock over, whatever host held it (--lock-stale).
const DefaultLockStale = 2 * time.Minute

// LockInfo describes the holder of the lock.
type LockInfo struct {
	ID        string // random, unique to one Lock call: `state unlock ID` names it
	PID       int
	Host      string
	Since     time.Time // UTC
	Heartbeat time.Time // UTC; the holder's last renewal (Since before the first)
	Command   string    // e.g. "groupsync apply"
}

// LockedError is returned by Lock when another process holds the lock.
type LockedError struct {
	Path   string
	Holder LockInfo
	Stale  time.Duration // the heartbeat age at which the lock is taken over
	// UnlockArgs follows `groupsync state unlock ID` in the hint, for the
	// flags that name this state file (e.g. " --state s.db"); the caller
	// sets it, since only it knows how the file was named.
	UnlockArgs string
	// Postgres: the state is in PostgreSQL, whose server holds the lock
	// for the holder's session and releases it when the session ends.
	Postgres bool
}

func (e *LockedError) Error() string {
	var b strings.Builder
	what := "state file"
	if e.Postgres {
		what = "state"
	}
	if e.Postgres && e.Holder.ID == "" {
		// The holder took the server's lock and has not written its row yet.
		fmt.Fprintf(&b, "state %s is locked by another PostgreSQL session", e.Path)
		b.WriteString("\nhint: wait for that process to finish, or pass --lock-timeout to wait for it")
		return b.String()
	}
	fmt.Fprintf(&b, "%s %s is locked by PID %d on host %s since %s",
		what, e.Path, e.Holder.PID, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339))
	if e.Holder.Command != "" {
		fmt.Fprintf(&b, " (%s)", e.Holder.Command)
	}
	fmt.Fprintf(&b, "; lock id %s, last heartbeat %s", e.Holder.ID, e.Holder.Heartbeat.UTC().Format(time.RFC3339))
	if e.Postgres {
		b.WriteString("\nhint: wait for that process to finish, or pass --lock-timeout to wait for it;" +
			" the PostgreSQL server holds the lock for that process's session and releases it when the session ends" +
			" (a killed process included)")
		return b.String()
	}
	stale := e.Stale
	if stale <= 0 {
		stale = DefaultLockStale
	}
	fmt.Fprintf(&b, "\nhint: wait for that process to finish, or pass --lock-timeout to wait for it;"+
		" the lock is taken over once its heartbeat is older than --lock-stale (%s), or at once when its holder"+
		" ran on this host and is gone; if you know its holder is gone, clear it with `groupsync state unlock %s%s`",
		stale, e.Holder.ID, e.UnlockArgs)
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
	bootID     string        // kernel boot id; differs after a reboot
	pidNS      string        // PID namespace; PIDs compare only within one
	pidStart   string        // the process's start time, to detect a reused PID
	token      string        // unique to one Lock call; the lock id
	renewEvery time.Duration // how often the holder renews its heartbeat; 0: never (a row from before heartbeats)
}

// LockOptions say how Lock waits and when it takes a lock over.
type LockOptions struct {
	// Wait is how long to poll while a live process holds the lock
	// (<= 0: not at all).
	Wait time.Duration
	// Stale is the heartbeat age past which a lock is taken over whatever
	// host held it (<= 0: DefaultLockStale). It also sets how often this
	// process renews its own heartbeat.
	Stale time.Duration
	// TakenOver, when set, is told of a lock taken over from a holder
	// that is gone, and why, so that the caller can warn.
	TakenOver func(prev LockInfo, why string)
}

// Lock takes the state file's lock for command (one apply or run at a
// time), waiting up to wait, with the default staleness: see LockWith.
func (s *Store) Lock(ctx context.Context, command string, wait time.Duration) (unlock func() error, err error) {
	return s.LockWith(ctx, command, LockOptions{Wait: wait})
}

// LockWith takes the state file's lock for command. When another live
// process holds it, LockWith polls until o.Wait has elapsed and then returns
// a *LockedError. A lock is taken over when its heartbeat is older than
// o.Stale, whatever host held it (a killed pod never comes back under its
// name), or at once when its holder provably is gone: it ran on this host
// and is no longer running. While held, a goroutine renews the lock's
// heartbeat; unlock stops it and releases the lock if it is still ours.
// Call unlock before Close.
func (s *Store) LockWith(ctx context.Context, command string, o LockOptions) (unlock func() error, err error) {
	if o.Stale <= 0 {
		o.Stale = DefaultLockStale
	}
	me, err := self(command)
	if err != nil {
		return nil, fmt.Errorf("lock state file %s: %w", s.path, err)
	}
	me.renewEvery = renewInterval(o.Stale)
	deadline := time.Now().Add(o.Wait)
	for {
		other, prev, why, sess, err := s.tryLockOnce(ctx, me, o.Stale)
		if err != nil {
			if ctx.Err() != nil {
				// A context that ends mid-attempt rolls the attempt's
				// transaction back under it: say why, not how.
				err = ctx.Err()
			}
			return nil, fmt.Errorf("lock state file %s: %w", s.path, err)
		}
		if other == nil {
			held.Store(me.token, struct{}{})
			if prev != nil && o.TakenOver != nil {
				o.TakenOver(prev.LockInfo, why)
			}
			return s.unlocker(me.token, s.heartbeat(me.token, me.renewEvery), sess), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &LockedError{Path: s.path, Holder: other.LockInfo, Stale: o.Stale, Postgres: s.dialect == postgresDialect}
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

// renewInterval is how often a holder with --lock-stale stale renews its
// heartbeat: every few seconds, and often enough that a live holder's
// heartbeat is never close to stale.
func renewInterval(stale time.Duration) time.Duration {
	return min(max(stale/8, 50*time.Millisecond), 5*time.Second)
}

// tryLockOnce makes one attempt at the lock. On PostgreSQL the lock is the
// server's session advisory lock, held by a connection of its own (sess)
// until unlock: while another session holds it, its row names the holder;
// once it is ours, a row left behind is a holder whose session ended. On
// SQLite, the row is the lock (tryLock).
func (s *Store) tryLockOnce(ctx context.Context, me holder, stale time.Duration) (other, prev *holder, why string, sess *pgSession, err error) {
	if s.dialect != postgresDialect {
		other, prev, why, err = s.tryLock(ctx, me, stale, false)
		return other, prev, why, nil, err
	}
	for gone := time.Now().Add(pgGoneWait); ; {
		sess, err = s.tryAdvisoryLock(ctx)
		if err != nil {
			return nil, nil, "", nil, err
		}
		if sess != nil {
			break
		}
		h, found, err := s.pgLockRow(ctx)
		if err != nil || !found || !h.provablyGone(me) || time.Now().After(gone) {
			return &h, nil, "", nil, err
		}
		// The holder is gone (it ran on this host and is no longer
		// running), but the server has not yet seen its connection close.
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return &h, nil, "", nil, nil
		}
	}
	other, prev, why, err = s.tryLock(ctx, me, stale, true)
	if err != nil || other != nil {
		sess.release()
		return other, nil, "", nil, err
	}
	return nil, prev, why, sess, nil
}

// pgGoneWait is how long a PostgreSQL lock whose holder provably is gone
// is waited for: the server releases it once it sees the connection close,
// which on a loaded machine takes a moment.
const pgGoneWait = 10 * time.Second

// pgLockRow reads the lock row of a PostgreSQL state whose server lock
// another session holds. That holder writes its row just after taking the
// server's lock: it is given a moment, so that the error can name it.
func (s *Store) pgLockRow(ctx context.Context) (holder, bool, error) {
	for wait := time.Now().Add(2 * time.Second); ; {
		h, found, err := lockRow(ctx, s.db)
		if err != nil || found || time.Now().After(wait) {
			return h, found, err
		}
		if !sleepCtx(ctx, 20*time.Millisecond) {
			return h, found, nil
		}
	}
}

// sleepCtx sleeps for d, or less when ctx ends; it reports whether ctx is
// still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// tryLock takes the lock for me in one IMMEDIATE transaction, or returns
// the live holder. prev is the holder of a lock taken over, and why says
// why it was stale. With force (the caller holds PostgreSQL's lock), any
// row found is a holder whose session ended.
func (s *Store) tryLock(ctx context.Context, me holder, stale time.Duration, force bool) (other, prev *holder, why string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		h, found, err := lockRow(ctx, tx)
		if err != nil {
			return err
		}
		if found && force {
			prev, why = &h, "its holder's PostgreSQL session ended"
		} else if found {
			if why = h.stale(me, stale, now()); why == "" {
				other = &h
				return nil
			}
			prev = &h
		}
		// The lock starts now, not when Lock was called: a lock taken
		// after waiting must not begin with a heartbeat already old.
		me.Since = now()
		me.Heartbeat = me.Since
		_, err = tx.ExecContext(ctx, `INSERT INTO lock
			(id, pid, host, boot_id, pid_ns, pid_start, since, command, token, heartbeat, renew_every_ms)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, host = excluded.host, boot_id = excluded.boot_id,
				pid_ns = excluded.pid_ns, pid_start = excluded.pid_start, since = excluded.since,
				command = excluded.command, token = excluded.token, heartbeat = excluded.heartbeat,
				renew_every_ms = excluded.renew_every_ms`,
			me.PID, me.Host, me.bootID, me.pidNS, me.pidStart, formatTime(me.Since), me.Command, me.token,
			formatTime(me.Heartbeat), me.renewEvery.Milliseconds())
		return err
	})
	return other, prev, why, err
}

// heartbeat renews the heartbeat of the lock token every interval until the
// returned stop is called; stop waits for the renewal in flight. A renewal
// that fails (a busy file) is tried again at the next tick; once the row is
// no longer ours (cleared by `state unlock`), or the store is closed,
// renewing stops.
func (s *Store) heartbeat(token string, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			case <-t.C:
			}
			res, err := s.db.ExecContext(ctx, "UPDATE lock SET heartbeat = ? WHERE token = ?", formatTime(now()), token)
			if err != nil {
				continue
			}
			if n, err := res.RowsAffected(); err == nil && n == 0 {
				return
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// unlocker returns the idempotent release function of the lock token: it
// stops the heartbeat, then deletes the row if it is still ours, then
// releases PostgreSQL's lock (sess, nil on SQLite).
func (s *Store) unlocker(token string, stopHeartbeat func(), sess *pgSession) func() error {
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			stopHeartbeat()
			held.Delete(token)
			_, err = s.db.ExecContext(context.Background(), "DELETE FROM lock WHERE token = ?", token)
			if sess != nil {
				err = errors.Join(err, sess.release())
			}
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

// BreakLock removes the lock if its id is id, whoever holds it, and returns
// the holder it found and whether it removed the lock: a lock with another
// id (or none) is left alone, so that an operator who looked at one lock
// never clears another taken since. It is for an operator who knows the
// holder is gone (`groupsync state unlock`).
func (s *Store) BreakLock(ctx context.Context, id string) (LockInfo, bool, error) {
	var h holder
	var removed bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var found bool
		var err error
		if h, found, err = lockRow(ctx, tx); err != nil || !found || h.token != id {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM lock WHERE token = ?", id)
		removed = err == nil
		return err
	})
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("break lock of state file %s: %w", s.path, err)
	}
	return h.LockInfo, removed, nil
}

// rowQuerier is a *sql.DB or *sql.Tx.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lockRow(ctx context.Context, q rowQuerier) (holder, bool, error) {
	var h holder
	var since, beat sql.NullString
	var every int64
	err := q.QueryRowContext(ctx, `SELECT pid, host, boot_id, pid_ns, pid_start, since, command, token, heartbeat, renew_every_ms
		FROM lock WHERE id = 1`).Scan(&h.PID, &h.Host, &h.bootID, &h.pidNS, &h.pidStart, &since, &h.Command, &h.token, &beat, &every)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	h.ID = h.token
	h.renewEvery = time.Duration(every) * time.Millisecond
	if h.Since, err = parseTime(since); err != nil {
		return h, true, err
	}
	if h.Heartbeat, err = parseTime(beat); err != nil {
		return h, true, err
	}
	if h.Heartbeat.IsZero() {
		h.Heartbeat = h.Since // a row from before heartbeats
	}
	return h, true, nil
}

// stale says why h no longer holds the lock, as seen by me at now with
// --lock-stale stale, or "" when it may still hold it. A holder on this host,
// in this PID namespace, can be proved gone; any holder is stale once its
// heartbeat is older than stale. A holder that renews less often than stale
// allows (a different --lock-stale) is given three of its own intervals, so
// that a live holder is never taken over.
func (h holder) stale(me holder, stale time.Duration, now time.Time) string {
	if h.Host == me.Host && h.PID == me.PID && h.pidNS == me.pidNS {
		if _, ours := held.Load(h.token); ours {
			return ""
		}
	}
	if h.provablyGone(me) {
		return "its holder ran on this host and is no longer running"
	}
	limit := max(stale, 3*h.renewEvery)
	if age := now.Sub(h.Heartbeat); age > limit {
		return fmt.Sprintf("its last heartbeat is %s old, older than --lock-stale %s", age.Round(100*time.Millisecond), limit)
	}
	return ""
}

// provablyGone reports whether h provably no longer holds the lock, as seen
// by me. Only a holder on this host, in this PID namespace, can be proved gone.
func (h holder) provablyGone(me holder) bool {
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
	token := hex.EncodeToString(tok[:])
	return holder{
		LockInfo: LockInfo{ID: token, PID: pid, Host: host, Since: now(), Command: command},
		bootID:   readTrim("/proc/sys/kernel/random/boot_id"),
		pidNS:    pidNamespace(),
		pidStart: procStart(pid),
		token:    token,
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

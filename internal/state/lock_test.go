package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// holdLockInChild starts a real second process that takes the lock on path
// and holds it until its stdin closes; it returns the child and its PID.
func holdLockInChild(t *testing.T, path string) (*child, int) {
	t.Helper()
	c := startChild(t, "hold-lock", path)
	pid, err := strconv.Atoi(c.expect(t, "locked"))
	if err != nil {
		t.Fatal(err)
	}
	if pid != c.cmd.Process.Pid {
		t.Fatalf("child says PID %d, started as %d", pid, c.cmd.Process.Pid)
	}
	return c, pid
}

func TestLockRefusedAcrossProcesses(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	c, pid := holdLockInChild(t, path)

	start := time.Now()
	unlock, err := s.Lock(context.Background(), "groupsync run", 0)
	if err == nil {
		unlock()
		t.Fatal("Lock succeeded while another process holds it")
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Lock with no wait took %v, want it to fail fast", time.Since(start))
	}
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("error %v is not a *LockedError", err)
	}
	host, _ := os.Hostname()
	shown, what := RedactLocation(path), "state file"
	if testingPostgres() {
		what = "state"
	}
	if le.Holder.PID != pid || le.Holder.Host != host || le.Holder.Command != "groupsync apply" || le.Path != shown {
		t.Errorf("holder = %+v on %s, want PID %d on %s running groupsync apply", le.Holder, le.Path, pid, host)
	}
	first, hint, _ := strings.Cut(err.Error(), "\n")
	want := fmt.Sprintf("%s %s is locked by PID %d on host %s since %s (groupsync apply); lock id %s, last heartbeat %s",
		what, shown, pid, host, le.Holder.Since.Format(time.RFC3339), le.Holder.ID, le.Holder.Heartbeat.Format(time.RFC3339))
	if first != want {
		t.Errorf("error:\n got %q\nwant %q", first, want)
	}
	if !strings.HasPrefix(hint, "hint: ") {
		t.Errorf("second line %q is not a hint", hint)
	}
	if d := time.Since(le.Holder.Since); d < 0 || d > time.Minute {
		t.Errorf("holder since %v, want just now", le.Holder.Since)
	}
	if info, ok, err := s.LockHolder(context.Background()); err != nil || !ok || info.PID != pid {
		t.Errorf("LockHolder = %+v, %v, %v", info, ok, err)
	}

	// The holder releases; the lock is then free.
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	unlock, err = s.Lock(context.Background(), "groupsync run", 0)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	c, _ := holdLockInChild(t, path)
	releasing := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		releasing <- time.Now()
		c.stdin.Close()
	}()
	start := time.Now()
	unlock, err := s.Lock(context.Background(), "groupsync apply", 30*time.Second)
	if err != nil {
		t.Fatalf("Lock with wait: %v", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("Lock returned after %v, before the holder released", waited)
	}
	// The lock starts when taken, not when the wait began: its heartbeat
	// must not be old already.
	if info, _, _ := s.LockHolder(context.Background()); info.Heartbeat.Before(<-releasing) {
		t.Errorf("lock taken after a wait starts at %v, before the holder released", info.Heartbeat)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitTimesOut(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	_, pid := holdLockInChild(t, path)
	start := time.Now()
	_, err := s.Lock(context.Background(), "groupsync apply", 400*time.Millisecond)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != pid {
		t.Fatalf("Lock = %v, want locked by %d", err, pid)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond || waited > 5*time.Second {
		t.Errorf("Lock gave up after %v, want about 400ms", waited)
	}

	// A cancelled context ends the wait early.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "groupsync apply", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock with a cancelled context = %v", err)
	}
}

// TestLockTakesOverFromKilledHolder kills a real holder with SIGKILL: its
// row remains, names a PID that no longer exists on this host, and is taken
// over.
func TestLockTakesOverFromKilledHolder(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	c, pid := holdLockInChild(t, path)
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	if info, ok, _ := s.LockHolder(context.Background()); !ok || info.PID != pid {
		t.Fatalf("the killed holder's row is gone: %+v, %v", info, ok)
	}
	unlock, err := s.Lock(context.Background(), "groupsync apply", 0)
	if err != nil {
		t.Fatalf("Lock over a dead holder: %v", err)
	}
	if info, _, _ := s.LockHolder(context.Background()); info.PID != os.Getpid() {
		t.Errorf("holder after takeover = %+v, want us", info)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

// deadPID returns the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestLockStaleness(t *testing.T) {
	sqliteOnly(t) // on PostgreSQL the server's lock, not the row, says who holds it
	host, _ := os.Hostname()
	me, err := self("test")
	if err != nil {
		t.Fatal(err)
	}
	dead := deadPID(t)
	parent := os.Getppid() // alive, not us
	fresh, old := now(), now().Add(-3*time.Minute)
	tests := []struct {
		name      string
		row       holder
		takenOver bool
	}{
		{"dead PID on this host", holder{LockInfo: LockInfo{PID: dead, Host: host, Heartbeat: fresh}, bootID: me.bootID, pidNS: me.pidNS}, true},
		{"dead PID on another host, fresh heartbeat", holder{LockInfo: LockInfo{PID: dead, Host: "elsewhere", Heartbeat: fresh}, bootID: me.bootID, pidNS: me.pidNS}, false},
		{"another host, stale heartbeat", holder{LockInfo: LockInfo{PID: dead, Host: "elsewhere", Heartbeat: old}, bootID: me.bootID, pidNS: me.pidNS}, true},
		{"live PID on this host, stale heartbeat", holder{LockInfo: LockInfo{PID: parent, Host: host, Heartbeat: old}, bootID: me.bootID, pidNS: me.pidNS, pidStart: procStart(parent)}, true},
		{"no heartbeat column yet, started long ago", holder{LockInfo: LockInfo{PID: dead, Host: "elsewhere"}, bootID: me.bootID, pidNS: me.pidNS}, true},
		{"a holder renewing less often than our --lock-stale", holder{LockInfo: LockInfo{PID: dead, Host: "elsewhere", Heartbeat: old}, bootID: me.bootID, pidNS: me.pidNS, renewEvery: 2 * time.Minute}, false},
		{"live PID on this host", holder{LockInfo: LockInfo{PID: parent, Host: host, Heartbeat: fresh}, bootID: me.bootID, pidNS: me.pidNS, pidStart: procStart(parent)}, false},
		{"our PID, not our lock (restarted container)", holder{LockInfo: LockInfo{PID: os.Getpid(), Host: host, Heartbeat: fresh}, bootID: me.bootID, pidNS: me.pidNS, token: "old"}, true},
		{"before a reboot of this host", holder{LockInfo: LockInfo{PID: parent, Host: host, Heartbeat: fresh}, bootID: "another-boot", pidNS: me.pidNS}, me.bootID != ""},
		{"dead PID in another PID namespace", holder{LockInfo: LockInfo{PID: dead, Host: host, Heartbeat: fresh}, bootID: me.bootID, pidNS: "pid:[1]"}, false},
		{"reused PID", holder{LockInfo: LockInfo{PID: parent, Host: host, Heartbeat: fresh}, bootID: me.bootID, pidNS: me.pidNS, pidStart: "1"}, procStart(parent) != ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			tt.row.Since, tt.row.Command = ts(0), "groupsync apply"
			beat := formatTime(tt.row.Heartbeat).String // "" as a row from before heartbeats has
			_, err := s.db.ExecContext(ctx, `INSERT INTO lock VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tt.row.PID, tt.row.Host, tt.row.bootID, tt.row.pidNS, tt.row.pidStart, formatTime(tt.row.Since), tt.row.Command, "tok",
				beat, tt.row.renewEvery.Milliseconds())
			if err != nil {
				t.Fatal(err)
			}
			var prev *LockInfo
			var why string
			unlock, err := s.LockWith(ctx, "groupsync apply", LockOptions{Stale: time.Minute, TakenOver: func(p LockInfo, w string) { prev, why = &p, w }})
			if tt.takenOver {
				if err != nil {
					t.Fatalf("stale lock not taken over: %v", err)
				}
				if prev == nil || prev.ID != "tok" || prev.PID != tt.row.PID || why == "" {
					t.Errorf("takeover reported as %+v, %q; want the row's holder and a reason", prev, why)
				}
				if err := unlock(); err != nil {
					t.Fatal(err)
				}
				return
			}
			var le *LockedError
			if !errors.As(err, &le) {
				if err == nil {
					unlock()
				}
				t.Fatalf("Lock = %v, want *LockedError", err)
			}
			if le.Holder.PID != tt.row.PID || le.Holder.Host != tt.row.Host || !le.Holder.Since.Equal(ts(0)) || le.Holder.ID != "tok" {
				t.Errorf("holder = %+v", le.Holder)
			}
			if prev != nil {
				t.Errorf("a lock not taken over was reported taken over: %+v", prev)
			}
		})
	}
}

func TestLockInProcess(t *testing.T) {
	path := newLocation(t)
	a := openStore(t, path)
	b := openStore(t, path)
	ctx := context.Background()
	unlock, err := a.Lock(ctx, "groupsync run", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Held by this very process through another Store: still held.
	if _, err := b.Lock(ctx, "groupsync apply", 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock in the same process = %v, want ErrLocked", err)
	}
	// unlock is idempotent and removes only our own row.
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlockB, err := b.Lock(ctx, "groupsync apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if info, ok, _ := b.LockHolder(ctx); !ok || info.Command != "groupsync apply" {
		t.Errorf("a stale unlock removed another holder's lock: %+v, %v", info, ok)
	}
	if err := unlockB(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.LockHolder(ctx); ok {
		t.Error("lock still held after unlock")
	}
}

func TestBreakLock(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	_, err := s.db.ExecContext(ctx, `INSERT INTO lock VALUES (1, 42, 'elsewhere', '', '', '', ?, 'groupsync run', 'tok', ?, 5000)`, formatTime(ts(0)), formatTime(now()))
	if err != nil {
		t.Fatal(err)
	}
	// Another id leaves the lock alone and says whose it is.
	info, removed, err := s.BreakLock(ctx, "other")
	if err != nil || removed || info.ID != "tok" || info.PID != 42 {
		t.Fatalf("BreakLock of another id = %+v, %v, %v", info, removed, err)
	}
	info, removed, err = s.BreakLock(ctx, "tok")
	if err != nil || !removed || info.PID != 42 || info.Host != "elsewhere" {
		t.Fatalf("BreakLock = %+v, %v, %v", info, removed, err)
	}
	if _, ok, _ := s.LockHolder(ctx); ok {
		t.Error("lock still held after BreakLock")
	}
	if info, removed, err := s.BreakLock(ctx, "tok"); removed || err != nil || info.ID != "" {
		t.Errorf("BreakLock of a free lock = %+v, %v, %v", info, removed, err)
	}
}

// TestLockHeartbeat: a held lock's heartbeat is renewed while it is held,
// so that a live holder is never taken over however long it runs, and
// renewing stops with unlock.
func TestLockHeartbeat(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	ctx := context.Background()
	const stale = 400 * time.Millisecond
	t.Setenv(childStaleEnv, stale.String())
	c, _ := holdLockInChild(t, path)
	first, _, _ := s.LockHolder(ctx)
	// Wait, on the heartbeats themselves, for several renewals over more
	// than stale: a lock not renewed would be stale by then.
	last := first.Heartbeat
	for renewed := 0; renewed < 5 || time.Since(first.Since) <= 2*stale; {
		info, ok, err := s.LockHolder(ctx)
		if err != nil || !ok || info.ID != first.ID {
			t.Fatalf("LockHolder = %+v, %v, %v; want the child's lock", info, ok, err)
		}
		if info.Heartbeat.After(last) {
			renewed++
			last = info.Heartbeat
		}
		time.Sleep(renewInterval(stale) / 2)
	}
	// A live holder's fresh heartbeat keeps the lock on another host too.
	if _, err := s.db.ExecContext(ctx, "UPDATE lock SET host = 'elsewhere'"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockWith(ctx, "groupsync apply", LockOptions{Stale: stale}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a live holder's lock was taken over: %v", err)
	}
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if _, ok, _ := s.LockHolder(ctx); ok {
		t.Error("lock still held after unlock (a heartbeat after unlock recreated it?)")
	}
}

// TestLockTakenOverFromAnotherHost: a holder killed on another host (its
// row's host changed) leaves a lock whose heartbeat stops; it is taken
// over once the heartbeat is older than --lock-stale.
func TestLockTakenOverFromAnotherHost(t *testing.T) {
	sqliteOnly(t) // on PostgreSQL the server's lock, not the row, says who holds it
	path := newLocation(t)
	s := openStore(t, path)
	ctx := context.Background()
	const stale = 300 * time.Millisecond
	t.Setenv(childStaleEnv, stale.String())
	c, _ := holdLockInChild(t, path)
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	if _, err := s.db.ExecContext(ctx, "UPDATE lock SET host = 'pod-gone-7f9c'"); err != nil {
		t.Fatal(err)
	}
	dead, _, _ := s.LockHolder(ctx)
	var prev LockInfo
	var why string
	unlock, err := s.LockWith(ctx, "groupsync apply", LockOptions{Wait: time.Minute, Stale: stale,
		TakenOver: func(p LockInfo, w string) { prev, why = p, w }})
	if err != nil {
		t.Fatalf("Lock over a stale lock from another host: %v", err)
	}
	defer unlock()
	if age := time.Since(dead.Heartbeat); age < stale {
		t.Errorf("taken over when the heartbeat was %v old, before --lock-stale %v", age, stale)
	}
	if prev.ID != dead.ID || prev.Host != "pod-gone-7f9c" || !strings.Contains(why, "heartbeat") {
		t.Errorf("takeover reported as %+v, %q", prev, why)
	}
}

func TestLockedErrorNamesTheUnlockCommand(t *testing.T) {
	e := &LockedError{Path: "s.db", Holder: LockInfo{ID: "abc123", PID: 7, Host: "pod-1", Since: ts(0), Heartbeat: ts(1), Command: "groupsync run"},
		Stale: time.Minute, UnlockArgs: " --state s.db"}
	want := "state file s.db is locked by PID 7 on host pod-1 since 2026-11-26T12:00:05Z (groupsync run); lock id abc123, last heartbeat 2026-11-26T12:01:05Z\n" +
		"hint: wait for that process to finish, or pass --lock-timeout to wait for it; the lock is taken over once its heartbeat is older than --lock-stale (1m0s), or at once when its holder ran on this host and is gone; if you know its holder is gone, clear it with `groupsync state unlock abc123 --state s.db`"
	if got := e.Error(); got != want {
		t.Errorf("error:\n got %q\nwant %q", got, want)
	}
}

package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	path := filepath.Join(t.TempDir(), "groupsync.db")
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
	if le.Holder.PID != pid || le.Holder.Host != host || le.Holder.Command != "groupsync apply" || le.Path != path {
		t.Errorf("holder = %+v on %s, want PID %d on %s running groupsync apply", le.Holder, le.Path, pid, host)
	}
	first, hint, _ := strings.Cut(err.Error(), "\n")
	want := fmt.Sprintf("state file %s is locked by PID %d on host %s since %s (groupsync apply)",
		path, pid, host, le.Holder.Since.Format(time.RFC3339))
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
	path := filepath.Join(t.TempDir(), "groupsync.db")
	s := openStore(t, path)
	c, _ := holdLockInChild(t, path)
	go func() {
		time.Sleep(300 * time.Millisecond)
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
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groupsync.db")
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
	path := filepath.Join(t.TempDir(), "groupsync.db")
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
	host, _ := os.Hostname()
	me, err := self("test")
	if err != nil {
		t.Fatal(err)
	}
	dead := deadPID(t)
	parent := os.Getppid() // alive, not us
	tests := []struct {
		name      string
		row       holder
		takenOver bool
	}{
		{"dead PID on this host", holder{LockInfo: LockInfo{PID: dead, Host: host}, bootID: me.bootID, pidNS: me.pidNS}, true},
		{"dead PID on another host", holder{LockInfo: LockInfo{PID: dead, Host: "elsewhere"}, bootID: me.bootID, pidNS: me.pidNS}, false},
		{"live PID on this host", holder{LockInfo: LockInfo{PID: parent, Host: host}, bootID: me.bootID, pidNS: me.pidNS, pidStart: procStart(parent)}, false},
		{"our PID, not our lock (restarted container)", holder{LockInfo: LockInfo{PID: os.Getpid(), Host: host}, bootID: me.bootID, pidNS: me.pidNS, token: "old"}, true},
		{"before a reboot of this host", holder{LockInfo: LockInfo{PID: parent, Host: host}, bootID: "another-boot", pidNS: me.pidNS}, me.bootID != ""},
		{"dead PID in another PID namespace", holder{LockInfo: LockInfo{PID: dead, Host: host}, bootID: me.bootID, pidNS: "pid:[1]"}, false},
		{"reused PID", holder{LockInfo: LockInfo{PID: parent, Host: host}, bootID: me.bootID, pidNS: me.pidNS, pidStart: "1"}, procStart(parent) != ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := context.Background()
			tt.row.Since, tt.row.Command = ts(0), "groupsync apply"
			_, err := s.db.ExecContext(ctx, `INSERT INTO lock VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
				tt.row.PID, tt.row.Host, tt.row.bootID, tt.row.pidNS, tt.row.pidStart, formatTime(tt.row.Since), tt.row.Command, "tok")
			if err != nil {
				t.Fatal(err)
			}
			unlock, err := s.Lock(ctx, "groupsync apply", 0)
			if tt.takenOver {
				if err != nil {
					t.Fatalf("stale lock not taken over: %v", err)
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
			if le.Holder.PID != tt.row.PID || le.Holder.Host != tt.row.Host || !le.Holder.Since.Equal(ts(0)) {
				t.Errorf("holder = %+v", le.Holder)
			}
		})
	}
}

func TestLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groupsync.db")
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO lock VALUES (1, 42, 'elsewhere', '', '', '', ?, 'groupsync run', 'tok')`, formatTime(ts(0)))
	if err != nil {
		t.Fatal(err)
	}
	info, ok, err := s.BreakLock(ctx)
	if err != nil || !ok || info.PID != 42 || info.Host != "elsewhere" {
		t.Fatalf("BreakLock = %+v, %v, %v", info, ok, err)
	}
	if _, ok, _ := s.LockHolder(ctx); ok {
		t.Error("lock still held after BreakLock")
	}
	if _, ok, err := s.BreakLock(ctx); ok || err != nil {
		t.Errorf("BreakLock of a free lock = %v, %v", ok, err)
	}
}

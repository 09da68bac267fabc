package reliability

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/state/pgtest"
)

// TestConcurrentApplies starts two applies on one state file at the same
// moment (two processes): one proceeds, the other fails fast with exit 1 and
// a message naming the lock and its holder. On a fresh state file both also
// race to create and migrate it.
func TestConcurrentApplies(t *testing.T) {
	groupsyncBinary(t)
	for _, fresh := range []bool{true, false} {
		for round := range sized(2, 10) {
			name := fmt.Sprintf("existing-state-%d", round)
			if fresh {
				name = fmt.Sprintf("fresh-state-%d", round)
			}
			t.Run(name, func(t *testing.T) { concurrentApplies(t, fresh) })
		}
	}
	t.Run("lock-timeout-waits", concurrentWaiting)
}

// TestConcurrentAppliesPostgres is TestConcurrentApplies with the state in
// PostgreSQL: the server's advisory lock refuses the second apply exactly
// as the file's lock does.
func TestConcurrentAppliesPostgres(t *testing.T) {
	pgtest.BaseURL(t)
	groupsyncBinary(t)
	for _, fresh := range []bool{true, false} {
		for round := range sized(2, 5) {
			t.Run(fmt.Sprintf("fresh-%v-%d", fresh, round), func(t *testing.T) {
				concurrentAppliesAt(t, fresh, pgtest.Location(t))
			})
		}
	}
}

// startTogether runs args in two processes started at the same moment.
func startTogether(t *testing.T, c *cli, args []string) [2]result {
	start := make(chan struct{})
	var results [2]result
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = c.run(t, args...)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

func concurrentApplies(t *testing.T, fresh bool) {
	concurrentAppliesAt(t, fresh, "")
}

// concurrentAppliesAt races two applies on the state at loc ("": a new
// file).
func concurrentAppliesAt(t *testing.T, fresh bool, loc string) {
	const token = "lock-token"
	w := newVendorWorld(t, token)
	// Slow vendors keep the winner's apply running while the loser starts.
	w.setChaos(chaosConfig{MinLatency: 40 * time.Millisecond, MaxLatency: 60 * time.Millisecond, Seed: 7})
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "lk", Yunzhijia: 4, Lunkr: 2, Members: 2, Notices: 1})
	statePath := filepath.Join(dir, "groupsync.db")
	if loc != "" {
		statePath = loc
	}
	c := newCLI(t, dir, tokenEnv+"="+token)
	if !fresh {
		// A plan from the cache creates the state file with no vendor call.
		c.runOK(t, []string{"plan", "--refresh=false", "-f", manifest, "--state", statePath})
	}
	args := []string{"apply", "--auto-approve", "-f", manifest, "--state", statePath, "--parallelism", "1"}

	results := startTogether(t, c, args)
	winner, loser := results[0], results[1]
	if winner.code != 0 {
		winner, loser = loser, winner
	}
	if winner.code != 0 || loser.code != 1 {
		t.Fatalf("want one apply to succeed and one to fail with exit 1\n%s\n\n%s", results[0], results[1])
	}
	for _, want := range []string{"locked by PID", "since", "groupsync apply"} {
		if !strings.Contains(loser.stderr, want) {
			t.Errorf("the loser's error does not say %q\n%s", want, loser)
		}
	}
	if loser.stdout != "" {
		t.Errorf("the loser printed a plan or applied something\n%s", loser)
	}
	// Failing fast: the loser ends long before the winner, whose apply
	// waits on slow vendors.
	if loser.duration > winner.duration/2 || loser.duration > 5*time.Second {
		t.Errorf("the loser took %v, the winner %v: it did not fail fast", loser.duration, winner.duration)
	}
	w.checkNoDuplicates(t, "after two applies")
	if !strings.Contains(winner.stdout, "Apply complete") {
		t.Errorf("the winner did not complete its apply\n%s", winner)
	}

	// The lock is released: a third apply finds nothing to do.
	again := c.runOK(t, args)
	if !strings.Contains(again.stdout, "Nothing to apply.") {
		t.Errorf("a later apply found something to do\n%s", again)
	}
}

// concurrentWaiting: with --lock-timeout the second apply waits for the
// first and then finds nothing left to do; nothing is made twice.
func concurrentWaiting(t *testing.T) {
	const token = "lock-token"
	w := newVendorWorld(t, token)
	w.setChaos(chaosConfig{MinLatency: 20 * time.Millisecond, MaxLatency: 40 * time.Millisecond, Seed: 8})
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "wait", Yunzhijia: 4, Lunkr: 2, Members: 2, Notices: 1, Banners: 1})
	c := newCLI(t, dir, tokenEnv+"="+token)
	args := []string{"apply", "--auto-approve", "-f", manifest, "--state", filepath.Join(dir, "groupsync.db"), "--lock-timeout", "1m"}
	results := startTogether(t, c, args)
	applied := 0
	for _, r := range results {
		if r.code != 0 {
			t.Fatalf("an apply with --lock-timeout failed\n%s", r)
		}
		if strings.Contains(r.stdout, "Apply complete") {
			applied++
		} else if !strings.Contains(r.stdout, "Nothing to apply.") {
			t.Errorf("an apply neither applied nor found nothing to do\n%s", r)
		}
	}
	if applied != 1 {
		t.Errorf("%d applies applied, want 1 (the other waits, then finds nothing to do)\n%s\n\n%s", applied, results[0], results[1])
	}
	w.checkNoDuplicates(t, "after two waiting applies")
}

// TestStaleLockTakeover: an apply killed with SIGKILL on "another host"
// (its lock row's host changed, as a pod or CI runner that never comes
// back) stops the next apply only until its heartbeat is older than
// --lock-stale; the next apply then takes the lock over with a warning. A
// live holder's lock is never taken over: its heartbeat stays fresh however
// long it runs. The "locked" error's unlock command, run as printed,
// clears such a lock by hand.
func TestStaleLockTakeover(t *testing.T) {
	groupsyncBinary(t)
	const token = "stale-lock-token"
	w := newVendorWorld(t, token)
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "stale", Yunzhijia: 3, Lunkr: 1, Members: 2, Notices: 1})
	statePath := filepath.Join(dir, "s.db")
	c := newCLI(t, dir, tokenEnv+"="+token)
	apply := func(extra ...string) []string {
		return append([]string{"apply", "--auto-approve", "-f", manifest, "--state", statePath}, extra...)
	}
	c.runOK(t, apply())

	// The holder: every vendor answer is held until the client gives up,
	// so the apply sits in its plan's reads holding the lock.
	w.setChaos(chaosConfig{StallRate: 1, Seed: 11})
	holder := startHolder(t, c, statePath, apply("--lock-stale", "1s"))
	moveLock(t, statePath, "ci-runner-gone")

	// Alive: a second apply that waits twice --lock-stale is still refused.
	live := c.runOK(t, apply("--lock-stale", "1s", "--lock-timeout", "2s"), 1)
	for _, want := range []string{fmt.Sprintf("locked by PID %d on host ci-runner-gone", holder.pid), "lock id " + holder.id} {
		if !strings.Contains(live.stderr, want) {
			t.Errorf("a live holder's lock: the second apply does not say %q\n%s", want, live)
		}
	}
	if strings.Contains(live.stdout+live.stderr, "took over") {
		t.Fatalf("a live holder's lock was taken over\n%s", live)
	}

	// Killed: the next apply waits out --lock-stale, takes over, warns.
	holder.kill(t)
	w.quiet()
	next := c.runOK(t, apply("--lock-stale", "1s", "--lock-timeout", "1m"))
	for _, want := range []string{"took over the lock", "lockId=" + holder.id, "host=ci-runner-gone", "heartbeat"} {
		if !strings.Contains(next.stderr, want) {
			t.Errorf("the takeover's warning does not say %q\n%s", want, next)
		}
	}
	if !strings.Contains(next.stdout, "Nothing to apply.") {
		t.Errorf("the apply after the takeover did not run\n%s", next)
	}
	w.checkNoDuplicates(t, "after a stale lock was taken over")

	// By hand: the locked error's command, run as printed, clears the lock.
	w.setChaos(chaosConfig{StallRate: 1, Seed: 12})
	holder = startHolder(t, c, statePath, apply())
	holder.kill(t)
	moveLock(t, statePath, "pod-7f9c-gone")
	w.quiet()
	locked := c.runOK(t, apply(), 1)
	m := regexp.MustCompile("`groupsync (state unlock [^`]*)`").FindStringSubmatch(locked.stderr)
	if m == nil {
		t.Fatalf("the locked error names no unlock command\n%s", locked)
	}
	if want := "state unlock " + holder.id + " --state " + statePath; m[1] != want {
		t.Errorf("unlock command %q, want %q", m[1], want)
	}
	c.runOK(t, append(strings.Fields(m[1]), "--yes"))
	after := c.runOK(t, apply())
	if strings.Contains(after.stderr, "took over") || !strings.Contains(after.stdout, "Nothing to apply.") {
		t.Errorf("the apply after state unlock\n%s", after)
	}
}

// lockHolder is a groupsync process holding the state lock.
type lockHolder struct {
	cmd *exec.Cmd
	pid int
	id  string
}

// startHolder starts args and waits until the process holds the lock of
// statePath.
func startHolder(t *testing.T, c *cli, statePath string, args []string) *lockHolder {
	t.Helper()
	cmd, _, stderr := c.command(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &lockHolder{cmd: cmd, pid: cmd.Process.Pid}
	t.Cleanup(func() { h.kill(t) })
	s, err := state.Open(statePath)
	must(t, err)
	defer s.Close()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		info, ok, err := s.LockHolder(context.Background())
		must(t, err)
		if ok && info.PID == h.pid {
			h.id = info.ID
			return h
		}
	}
	t.Fatalf("groupsync %s did not take the lock within 30s\n%s", strings.Join(args, " "), stderr)
	return nil
}

// kill kills the holder with SIGKILL and reaps it.
func (h *lockHolder) kill(t *testing.T) {
	if h.cmd.ProcessState != nil {
		return
	}
	_ = h.cmd.Process.Signal(syscall.SIGKILL)
	_ = h.cmd.Wait()
}

// moveLock rewrites the lock row's host, as if its holder ran elsewhere.
func moveLock(t *testing.T, statePath, host string) {
	t.Helper()
	db, err := sql.Open("sqlite", statePath+"?_pragma=busy_timeout(30000)")
	must(t, err)
	defer db.Close()
	res, err := db.Exec("UPDATE lock SET host = ?", host)
	must(t, err)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("no lock row to move to host %s", host)
	}
}

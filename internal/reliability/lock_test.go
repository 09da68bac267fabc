package reliability

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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
	const token = "lock-token"
	w := newVendorWorld(t, token)
	// Slow vendors keep the winner's apply running while the loser starts.
	w.setChaos(chaosConfig{MinLatency: 40 * time.Millisecond, MaxLatency: 60 * time.Millisecond, Seed: 7})
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "lk", Yunzhijia: 4, Lunkr: 2, Members: 2, Notices: 1})
	statePath := filepath.Join(dir, "groupsync.db")
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

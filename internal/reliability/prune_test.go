package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// Removals (prune) under faults and kill -9. What must hold whatever
// happens: nobody the manifest lists (a member or the owner) is ever removed
// from a group, and once the vendors are quiet the extras are gone with no
// call left to make.

// yzjStranger is the i-th Yunzhijia id no manifest lists.
func yzjStranger(i int) string { return fmt.Sprintf("5bee0000e4b0aaaa%08x", i) }

// addExtras puts n strangers into every bound Yunzhijia group of m, as
// people adding them in the app would, and returns how many it added.
func (w *vendorWorld) addExtras(m *spec.Manifest, bound map[string]string, n, salt int) int {
	added := 0
	for i, g := range m.Groups {
		id, ok := bound[g.Key]
		if g.Vendor != spec.Vendor("yunzhijia") || !ok {
			continue
		}
		for k := range n {
			w.yzj.AddMember(id, yzjStranger(salt*1000+i*10+k))
			added++
		}
	}
	return added
}

// checkListedKept fails the test if a member or owner of a bound Yunzhijia
// group of m is not in it.
func (w *vendorWorld) checkListedKept(t testing.TB, m *spec.Manifest, bound map[string]string, when string) {
	t.Helper()
	for _, g := range m.Groups {
		id, ok := bound[g.Key]
		if g.Vendor != spec.Vendor("yunzhijia") || !ok {
			continue
		}
		live, found := w.yzj.Group(id)
		if !found {
			continue // not created yet
		}
		in := map[string]bool{}
		for _, lm := range live.Members {
			in[lm.ID] = true
		}
		want := append([]*spec.Member{g.Owner}, g.Members...)
		for _, mem := range want {
			if !in[mem.ID] {
				t.Errorf("%s: group %s: %s, listed in the manifest, is not in the group", when, g.Key, mem.ID)
			}
		}
	}
}

// extrasLeft counts the members of bound Yunzhijia groups no manifest lists.
func (w *vendorWorld) extrasLeft(m *spec.Manifest, bound map[string]string) int {
	n := 0
	for _, g := range m.Groups {
		id, ok := bound[g.Key]
		if g.Vendor != spec.Vendor("yunzhijia") || !ok {
			continue
		}
		listed := map[string]bool{g.Owner.ID: true}
		for _, mem := range g.Members {
			listed[mem.ID] = true
		}
		live, _ := w.yzj.Group(id)
		for _, lm := range live.Members {
			if !listed[lm.ID] {
				n++
			}
		}
	}
	return n
}

// TestRemovesUnderFaults: with every fault of the fault profiles on (503,
// 429, lost answers, dropped connections, stalls past the client's
// timeout), repeated plan and apply remove every extra member and never
// anyone the manifest lists; then a quiet plan has nothing left.
func TestRemovesUnderFaults(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const token = "prune-token"
	w := newVendorWorld(t, token)
	dir := t.TempDir()
	f := fleet{Prefix: "p", Yunzhijia: sized(6, 20), Lunkr: 2, Members: 3, Notices: 1, Prune: true}
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, f)
	r := newRig(t, w, manifest, filepath.Join(dir, "state.db"), token,
		rigOptions{Timeout: 300 * time.Millisecond, Parallelism: 4, MaxAttempts: sized(5, 8)})
	// Quietly first: the groups exist and are bound.
	if res := r.apply(ctx, r.plan(ctx)); res.Failed != 0 {
		t.Fatalf("first apply: %+v", res)
	}
	bound := r.bound(ctx)
	extras := w.addExtras(r.m, bound, 2, 1)

	busy := sized(1.0, 1.6)
	w.yzj.SetFaults(yunzhijia.Faults{Status503Rate: 0.3 * busy, Status429Rate: 0.1 * busy, LoseAnswerRate: 0.1 * busy, DropRate: 0.1 * busy, Seed: 7})
	w.lk.SetFaults(lunkr.Faults{Status503Rate: 0.3 * busy, Seed: 8})
	w.setChaos(chaosConfig{StallRate: 0.05 * busy, StallApplied: 0.5, Seed: 9})
	w.yzj.FailNextAfterApply(yunzhijia.CallDelGroupUser, 2)

	removed, rounds := 0, 0
	for round := 1; ; round++ {
		rounds = round
		if round > sized(40, 120) {
			t.Fatalf("no convergence after %d rounds", round-1)
		}
		p := r.plan(ctx)
		if r.resolveAsHuman(ctx, p) > 0 {
			continue
		}
		if !p.CanApply() && !p.HasErrors() {
			break
		}
		res := r.apply(ctx, p)
		removed += res.Removed
		w.checkListedKept(t, r.m, bound, fmt.Sprintf("after apply %d", round))
		w.checkNoDuplicates(t, fmt.Sprintf("after apply %d", round))
		if t.Failed() {
			return
		}
	}
	w.quiet()
	calls := w.writeCalls()
	if p := r.plan(ctx); p.CanApply() || p.HasDrift() {
		t.Errorf("final plan is not empty: %s", describe(p))
	}
	if n := w.writeCalls() - calls; n != 0 {
		t.Errorf("final plan made %d write calls", n)
	}
	if n := w.extrasLeft(r.m, bound); n != 0 {
		t.Errorf("%d extra members left", n)
	}
	w.checkListedKept(t, r.m, bound, "at the end")
	// A removal whose answer was lost is retried and counted once or not
	// at all; never more than there were extras.
	if removed > extras {
		t.Errorf("apply reported %d removals of %d extras", removed, extras)
	}
	t.Logf("%d extras, %d removals reported, %d rounds", extras, removed, rounds)
}

// TestCrashKill9Removes: the binary's apply, with extras to remove in
// every Yunzhijia group, killed with SIGKILL at random points, then rerun:
// nobody the manifest lists is ever removed, and the apply that finally
// runs to its end leaves no extra and nothing to do.
func TestCrashKill9Removes(t *testing.T) {
	groupsyncBinary(t)
	rng := rand.New(rand.NewPCG(20261129, 14))
	shape := fleet{Prefix: "k", Yunzhijia: sized(5, 10), Lunkr: 1, Members: 2, Notices: 1, Prune: true}
	r := newCrashRig(t, shape, crashOptions{settle: time.Second})
	r.cli.runOK(t, r.applyArgs())
	_, bound := r.intentsAndBindings()

	// The first uninterrupted apply with extras sets the range of the kill
	// points; its removals are undone by the next extras.
	w := r.w
	w.addExtras(r.m, bound, 2, 0)
	full := r.cli.runOK(t, append(r.applyArgs(), "--max-removals", "1000")).duration
	kills, finished, midway := 0, 0, 0
	for round := 1; kills < sized(8, 60); round++ {
		w.addExtras(r.m, bound, 2, round)
		before := w.extrasLeft(r.m, bound)
		delay := time.Duration(rng.Int64N(int64(full)))
		res, killed := r.cli.killAfter(t, delay, append(r.applyArgs(), "--max-removals", "1000")...)
		if killed {
			kills++
			if left := w.extrasLeft(r.m, bound); left < before {
				midway++ // the kill came after a removal
			}
		} else {
			finished++
			r.checkRun(res)
		}
		w.checkListedKept(t, r.m, bound, fmt.Sprintf("after a kill at %v", delay))
		r.checkState()
		if t.Failed() {
			return
		}
	}
	// The extras the kills left may exceed the default --max-removals,
	// which converge's applies keep.
	r.checkRun(r.cli.run(t, append(r.applyArgs(), "--max-removals", "1000")...))
	r.converge(map[string]int{})
	if n := w.extrasLeft(r.m, bound); n != 0 {
		t.Errorf("%d extra members left after converging", n)
	}
	w.checkListedKept(t, r.m, bound, "at the end")
	t.Logf("%d kill points (%d after a removal), %d applies ran to their end", kills, midway, finished)
}

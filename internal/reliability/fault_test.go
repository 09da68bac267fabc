package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/state"
	"groupsync/internal/state/pgtest"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/wecom"
	"groupsync/internal/vendors/yunzhijia"
)

// faultProfile is one way the vendors misbehave.
type faultProfile struct {
	name  string
	yzj   yunzhijia.Faults
	lk    lunkr.Faults // WeCom's too, with its own seed and calls
	chaos chaosConfig
	// failNext makes the first creates and posts succeed and lose their
	// answer, whatever the rates say.
	failNext bool
	// unknowns: the profile must produce writes of unknown outcome (and
	// must not when false: a 503 or 429 provably was not made).
	unknowns bool
	// settle: how long an unknown create may still land (0: not waited for).
	settle time.Duration
}

func faultProfiles() []faultProfile {
	busy := sized(1.0, 1.6) // soak: higher rates
	rates := func(r float64) float64 { return min(r*busy, 0.6) }
	status := func() (yunzhijia.Faults, lunkr.Faults) {
		return yunzhijia.Faults{Status503Rate: rates(0.3), Status429Rate: rates(0.1)},
			lunkr.Faults{Status503Rate: rates(0.3), Status429Rate: rates(0.1)}
	}
	y503, l503 := status()
	all := func() (yunzhijia.Faults, lunkr.Faults) {
		y, l := status()
		y.LoseAnswerRate, y.DropRate = rates(0.1), rates(0.1)
		l.LoseAnswerRate, l.DropRate = rates(0.1), rates(0.1)
		return y, l
	}
	yAll, lAll := all()
	return []faultProfile{
		{name: "503-and-429", yzj: y503, lk: l503},
		{name: "timeouts", chaos: chaosConfig{StallRate: rates(0.1), StallApplied: 0.5}, unknowns: true},
		{name: "connection-resets", yzj: yunzhijia.Faults{DropRate: rates(0.25)}, lk: lunkr.Faults{DropRate: rates(0.25)}, unknowns: true},
		{name: "lost-answers", yzj: yunzhijia.Faults{LoseAnswerRate: rates(0.25)}, lk: lunkr.Faults{LoseAnswerRate: rates(0.25)}, failNext: true, unknowns: true},
		{name: "everything", yzj: yAll, lk: lAll, chaos: chaosConfig{StallRate: rates(0.05), StallApplied: 0.5}, failNext: true, unknowns: true},
		// Creates the vendors carry out after the client timed out (300ms).
		{name: "late-creates",
			yzj:      yunzhijia.Faults{LateRate: rates(0.4), LateDelay: 500 * time.Millisecond, Calls: []string{yunzhijia.CallCreateGroup}},
			lk:       lunkr.Faults{LateRate: rates(0.4), LateDelay: 500 * time.Millisecond, Calls: []string{lunkr.CallCreate}},
			unknowns: true, settle: 2 * time.Second},
	}
}

// TestFaultsConverge: with the vendors failing in every way SPEC section 4
// names, repeated plan and apply (resolving unknown outcomes the way the
// plan's fix says) converge with no duplicate group, notice or banner, and
// every unknown outcome is shown in the next plan, never guessed.
func TestFaultsConverge(t *testing.T) {
	seeds := sized([]int64{1}, []int64{1, 2, 3, 4, 5})
	for _, prof := range faultProfiles() {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed-%d", prof.name, seed), func(t *testing.T) {
				t.Parallel()
				runFaults(t, prof, seed)
			})
		}
	}
}

type faultStats struct {
	rounds, applies, unknown, human, stalls int
	settling                                int // plans that found a create settling
	settles                                 int // waits for one
}

// TestFaultsConvergePostgres is TestFaultsConverge with the state in
// PostgreSQL, for the profiles that leave outcomes unknown, one seed.
func TestFaultsConvergePostgres(t *testing.T) {
	pgtest.BaseURL(t)
	for _, prof := range faultProfiles() {
		if prof.name != "lost-answers" && prof.name != "everything" {
			continue
		}
		t.Run(prof.name, func(t *testing.T) {
			t.Parallel()
			runFaultsAt(t, prof, 1, pgtest.Location(t))
		})
	}
}

func runFaults(t *testing.T, prof faultProfile, seed int64) {
	runFaultsAt(t, prof, seed, "")
}

// runFaultsAt runs the fault scenario on the state at loc ("": a new file).
func runFaultsAt(t *testing.T, prof faultProfile, seed int64, loc string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const token = "fault-token"
	w := newVendorWorld(t, token)
	dir := t.TempDir()
	f := fleet{Prefix: "f", Yunzhijia: sized(8, 30), Lunkr: sized(5, 15), WeCom: sized(4, 12), Members: 3, Notices: 2, Banners: 1}
	manifest := w.writeManifest(t, dir, envToken, f)
	// Soak rates fail more than half the attempts: more attempts keep the
	// number of rounds (every group read in the same plan) reasonable.
	if loc == "" {
		loc = filepath.Join(dir, "state.db")
	}
	r := newRig(t, w, manifest, loc, token,
		rigOptions{Timeout: 300 * time.Millisecond, Parallelism: 4, MaxAttempts: sized(5, 8)})
	r.settle = prof.settle

	wc := prof.lk
	if len(wc.Calls) > 0 {
		wc.Calls = []string{wecom.CallCreate}
	}
	prof.yzj.Seed, prof.lk.Seed, wc.Seed, prof.chaos.Seed = seed, seed+100, seed+300, seed+200
	w.yzj.SetFaults(prof.yzj)
	w.lk.SetFaults(prof.lk)
	w.wc.SetFaults(wc)
	w.setChaos(prof.chaos)
	if prof.failNext {
		w.yzj.FailNextAfterApply(yunzhijia.CallCreateGroup, 2)
		w.yzj.FailNextAfterApply(yunzhijia.CallNotice, 1)
		w.yzj.FailNextAfterApply(yunzhijia.CallBanner, 1)
		w.lk.FailNextAfterApply(lunkr.CallCreate, 2)
		w.wc.FailNextAfterApply(wecom.CallCreate, 2)
	}

	var st faultStats
	maxRounds := sized(40, 120)
	for {
		st.rounds++
		if st.rounds > maxRounds {
			t.Fatalf("no convergence after %d rounds (%+v)", maxRounds, st)
		}
		before := r.intents(ctx)
		p := r.plan(ctx)
		checkSurfaced(t, w, r.m, before, p)
		if t.Failed() {
			return
		}
		// Counted before a person resolves anything: on a loaded machine
		// those rounds can outlast the settle window.
		if slices.ContainsFunc(p.Groups, func(g reconcile.GroupPlan) bool { return hasIssue(&g, reconcile.IssueSettling) }) {
			st.settling++
		}
		if n := r.resolveAsHuman(ctx, p); n > 0 {
			st.human += n
			continue // plan again, as a person would after fixing the state
		}
		if !p.CanApply() && !p.HasErrors() {
			break
		}
		if !p.CanApply() && waitSettled(ctx, t, w, p, func() []state.Intent { return r.intents(ctx) }, r.settle) {
			st.settles++
			continue
		}
		res := r.apply(ctx, p)
		st.applies++
		for _, g := range res.Groups {
			if g.Unknown {
				st.unknown++
			}
		}
		checkResultSurfaced(t, res, r.intents(ctx))
		w.checkNoDuplicates(t, fmt.Sprintf("after apply %d", st.applies))
		if t.Failed() {
			return
		}
	}
	st.stalls = w.stalls()

	// Converged under faults; with the vendors quiet, a last plan finds
	// nothing to do and writes nothing.
	w.quiet()
	calls := w.writeCalls()
	p := r.plan(ctx)
	if p.CanApply() || p.HasDrift() {
		t.Errorf("final plan is not empty: %s", describe(p))
	}
	if n := w.writeCalls() - calls; n != 0 {
		t.Errorf("final plan made %d write calls", n)
	}
	if in := r.intents(ctx); len(in) != 0 {
		t.Errorf("%d intents left open: %+v", len(in), in)
	}
	w.checkNoDuplicates(t, "at the end")
	w.checkConverged(t, r.m, r.bound(ctx))
	if prof.settle > 0 && st.settling == 0 {
		t.Errorf("no plan found a create settling: the late creates tested nothing (%+v)", st)
	}
	if prof.unknowns && st.unknown == 0 {
		t.Errorf("the profile produced no unknown outcome: it tested nothing (%+v)", st)
	}
	if !prof.unknowns && st.unknown != 0 {
		t.Errorf("%d unknown outcomes from faults that provably made no call (503, 429)", st.unknown)
	}
	t.Logf("%+v", st)
}

package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/state/pgtest"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/wecom"
	"groupsync/internal/vendors/yunzhijia"
)

// TestCrashKill9 runs the real binary's apply against simulators with
// latency and kills it with SIGKILL at random points of the apply (a fixed
// seed), many times, then reruns, resolves what the plans say to resolve,
// the way a person would with the state commands, and converges. After
// every kill: no duplicate group, notice or banner on the vendors, and the
// state file passes PRAGMA integrity_check.
func TestCrashKill9(t *testing.T) {
	groupsyncBinary(t)
	rng := rand.New(rand.NewPCG(20261126, 9))
	wantKills := sized(60, 1000)
	perEpisode := sized(17, 40) // kill points before a final convergence
	shape := fleet{Yunzhijia: sized(6, 12), Lunkr: sized(3, 6), WeCom: sized(3, 6), Members: 2, Notices: 1, Banners: 1}

	o := crashOptions{settle: time.Second}
	full := measureApply(t, shape, o)
	t.Logf("an uninterrupted apply takes %v: kill points are drawn in [0, %v)", full, full)
	st := crashStats{byHand: map[string]int{}}
	for ep := 0; st.kills < wantKills; ep++ {
		shape.Prefix = fmt.Sprintf("c%02d", ep)
		crashEpisode(t, rng, shape, o, full, perEpisode, &st)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d kill points in %d runs (%d left a write of unknown outcome, %d finished before their kill point); resolved by hand: %v",
		st.kills, st.runs, st.openAfterKill, st.finished, st.byHand)
	if !t.Failed() && st.openAfterKill == 0 {
		t.Errorf("no kill landed during a write: the kill points missed the apply")
	}
}

// TestCrashKill9Postgres is TestCrashKill9 with the state in PostgreSQL,
// fewer kills: after each, the server has released the killed holder's
// lock (the next apply is never refused), nothing is made twice and no
// intent is lost.
func TestCrashKill9Postgres(t *testing.T) {
	pgtest.BaseURL(t)
	groupsyncBinary(t)
	rng := rand.New(rand.NewPCG(20261129, 17))
	wantKills := sized(12, 200)
	perEpisode := sized(6, 20)
	shape := fleet{Yunzhijia: sized(4, 8), Lunkr: sized(2, 4), WeCom: sized(2, 4), Members: 2, Notices: 1, Banners: 1}
	o := crashOptions{settle: time.Second, postgres: true}
	full := measureApply(t, shape, o)
	t.Logf("an uninterrupted apply takes %v: kill points are drawn in [0, %v)", full, full)
	st := crashStats{byHand: map[string]int{}}
	for ep := 0; st.kills < wantKills; ep++ {
		shape.Prefix = fmt.Sprintf("p%02d", ep)
		crashEpisode(t, rng, shape, o, full, perEpisode, &st)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d kill points in %d runs (%d left a write of unknown outcome, %d finished before their kill point); resolved by hand: %v",
		st.kills, st.runs, st.openAfterKill, st.finished, st.byHand)
}

// TestCrashKill9LateCreates is TestCrashKill9 against vendors that carry
// out creates late: half the creates are applied lateDelay after they
// arrived, whether or not groupsync was killed meanwhile. The next apply
// comes at once; no create of unknown outcome may be concluded "not made"
// while it may still land (--settle), so no group is ever made twice.
func TestCrashKill9LateCreates(t *testing.T) {
	groupsyncBinary(t)
	rng := rand.New(rand.NewPCG(20261129, 11))
	wantKills := sized(20, 200)
	perEpisode := sized(10, 25)
	shape := fleet{Yunzhijia: sized(3, 6), Lunkr: sized(4, 8), WeCom: sized(3, 6), Members: 2}
	// The settle is well beyond the delay: a create lands before its intent
	// has settled, even on a loaded machine.
	o := crashOptions{settle: 3 * time.Second, lateRate: 0.5, lateDelay: 300 * time.Millisecond}
	full := measureApply(t, shape, o)
	t.Logf("an uninterrupted apply takes %v: kill points are drawn in [0, %v)", full, full)
	st := crashStats{byHand: map[string]int{}}
	for ep := 0; st.kills < wantKills; ep++ {
		shape.Prefix = fmt.Sprintf("l%02d", ep)
		crashEpisode(t, rng, shape, o, full, perEpisode, &st)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d kill points in %d runs (%d left a write of unknown outcome, %d finished before their kill point, %d creates landed late); resolved by hand: %v",
		st.kills, st.runs, st.openAfterKill, st.finished, st.landed, st.byHand)
	if !t.Failed() && st.byHand[settlingSeen] == 0 {
		t.Errorf("no plan found a create settling: the late creates missed the kills")
	}
}

// TestCrashLateCreateReport replays report 1 of issue 11 with the binary
// and the default --settle: a Lunkr create the vendor carries out 3 s late,
// the apply killed while it waits, an apply right away. That apply used to
// find no group, conclude "made no group" and create a second one; now the
// group is blocked while the create settles, and once it landed the next
// apply finds and binds it.
func TestCrashLateCreateReport(t *testing.T) {
	groupsyncBinary(t)
	r := newCrashRig(t, fleet{Prefix: "r", Lunkr: 1, Members: 1}, crashOptions{})
	r.w.lk.LandLate(lunkr.CallCreate, 3*time.Second, 1)
	args := []string{"apply", "--auto-approve", "-f", r.manifest} // the default --settle

	cmd, _, _ := r.cli.command(context.Background(), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the vendor holds the create (it took it, and will make
	// the group later), as at the report's 0.5 s.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if pending, _ := r.w.lk.LateWrites(); pending > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the create never reached the vendor")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	res := r.cli.runOK(t, args, 1)
	if !regexp.MustCompile(`error: a create of unknown outcome is settling until \d\d:\d\d:\d\d\n`).MatchString(res.stdout) {
		t.Errorf("the apply right away does not say the create is settling:\n%s", res)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, r.w.lk.WaitLanded(ctx))
	r.w.checkNoDuplicates(t, "after the late create landed")

	r.cli.runOK(t, args)
	ids := r.w.groupsNamed(spec.Vendor("lunkr"), lkName("r", 0))
	_, bound := r.intentsAndBindings()
	if len(ids) != 1 || bound["r-lk-000"] != ids[0] {
		t.Errorf("the vendor has %v, the state binds %q; want the one group that landed late, bound", ids, bound["r-lk-000"])
	}
	if n := r.w.lk.Calls()[lunkr.CallCreate]; n != 1 {
		t.Errorf("groups/create reached the vendor %d times, want 1", n)
	}
}

// crashOptions are how an episode's vendors and groupsync behave.
type crashOptions struct {
	postgres  bool          // keep the state in PostgreSQL (pgtest), not a file
	settle    time.Duration // --settle
	lateRate  float64       // the share of creates the vendors apply late
	lateDelay time.Duration // how late
}

type crashStats struct {
	runs, kills, finished, openAfterKill int
	landed                               int            // creates the vendors applied late
	byHand                               map[string]int // what the resolutions were
}

// crashRig is one episode: a vendor world, a manifest, a state file and
// the binary.
type crashRig struct {
	t        *testing.T
	w        *vendorWorld
	m        *spec.Manifest
	manifest string
	state    string
	cli      *cli
	o        crashOptions
}

const crashToken = "crash-token"

func newCrashRig(t *testing.T, shape fleet, o crashOptions) *crashRig {
	w := newVendorWorld(t, crashToken)
	w.setChaos(chaosConfig{MinLatency: 5 * time.Millisecond, MaxLatency: 20 * time.Millisecond, Seed: int64(len(shape.Prefix))})
	if o.lateRate > 0 {
		seed := int64(len(shape.Prefix)) + int64(shape.Prefix[len(shape.Prefix)-1])
		w.yzj.SetFaults(yunzhijia.Faults{LateRate: o.lateRate, LateDelay: o.lateDelay, Calls: []string{yunzhijia.CallCreateGroup}, Seed: seed})
		w.lk.SetFaults(lunkr.Faults{LateRate: o.lateRate, LateDelay: o.lateDelay, Calls: []string{lunkr.CallCreate}, Seed: seed + 1})
		w.wc.SetFaults(wecom.Faults{LateRate: o.lateRate, LateDelay: o.lateDelay, Calls: []string{wecom.CallCreate}, Seed: seed + 2})
	}
	dir := t.TempDir()
	manifest := w.writeManifest(t, dir, envToken, shape)
	statePath := filepath.Join(dir, "groupsync.db")
	if o.postgres {
		statePath = pgtest.Location(t)
	}
	return &crashRig{
		t: t, w: w, m: loadManifest(t, manifest), manifest: manifest, state: statePath, o: o,
		// GROUPSYNC_STATE lets the commands of a plan's fix run as written.
		cli: newCLI(t, dir, tokenEnv+"="+crashToken, "GROUPSYNC_STATE="+statePath),
	}
}

// applyArgs: the campaign's own fleet may create more groups than the
// default --max-new-groups (20) allows, a soak fleet of three vendors does.
func (r *crashRig) applyArgs() []string {
	return []string{"apply", "--auto-approve", "-f", r.manifest, "--parallelism", "2", "--settle", r.o.settle.String(),
		"--max-new-groups", strconv.Itoa(len(r.m.Groups))}
}

// measureApply times an uninterrupted apply of shape from nothing.
func measureApply(t *testing.T, shape fleet, o crashOptions) time.Duration {
	shape.Prefix = "measure"
	r := newCrashRig(t, shape, o)
	res := r.cli.runOK(t, r.applyArgs())
	return res.duration
}

func crashEpisode(t *testing.T, rng *rand.Rand, shape fleet, o crashOptions, full time.Duration, kills int, st *crashStats) {
	r := newCrashRig(t, shape, o)
	// Each rerun has less to do: kill points are drawn over the expected
	// length of the next run, the last one that ran to its end.
	expect := full
	for range kills {
		delay := time.Duration(rng.Int64N(int64(expect)))
		res, killed := r.cli.killAfter(t, delay, r.applyArgs()...)
		st.runs++
		if killed {
			st.kills++
		} else {
			st.finished++
			r.checkRun(res)
			expect = max(res.duration, 10*time.Millisecond)
		}
		r.w.checkNoDuplicates(t, fmt.Sprintf("after a kill at %v", delay))
		open := r.checkState()
		if killed && open > 0 {
			st.openAfterKill++
		}
		// Every kill: the next plan shows each write of unknown outcome. One
		// time in four the person resolves them at once; otherwise they
		// pile up over several kills, as they would over unattended runs.
		r.resolveByHand(st.byHand, rng.IntN(4) == 0)
		if t.Failed() {
			return
		}
	}
	r.converge(st.byHand)
	_, landed := r.w.lk.LateWrites()
	_, ylanded := r.w.yzj.LateWrites()
	_, wlanded := r.w.wc.LateWrites()
	st.landed += landed + ylanded + wlanded
}

// checkRun checks an apply that ran to its end: it may fail only because
// a group is blocked (exit 1 with the plan's errors), never on the lock or
// the state file.
func (r *crashRig) checkRun(res result) {
	t := r.t
	t.Helper()
	if res.code != 0 && res.code != 1 {
		t.Errorf("apply after a kill: unexpected exit\n%s", res)
	}
	for _, bad := range []string{"locked by", "database", "damaged", "panic", "SQLITE"} {
		if strings.Contains(res.stdout+res.stderr, bad) {
			t.Errorf("apply after a kill: output mentions %q\n%s", bad, res)
		}
	}
}

// checkState checks the state file's integrity and returns how many
// intents are open.
func (r *crashRig) checkState() int {
	t := r.t
	t.Helper()
	s, err := state.Open(r.state)
	if err != nil {
		t.Errorf("state file after a kill: %v", err)
		return 0
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("state file after a kill: %v", err)
	}
	in, err := s.OpenIntents(ctx)
	if err != nil {
		t.Errorf("state file after a kill: %v", err)
	}
	return len(in)
}

func (r *crashRig) intentsAndBindings() ([]state.Intent, map[string]string) {
	t := r.t
	s, err := state.Open(r.state)
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	in, err := s.OpenIntents(ctx)
	must(t, err)
	b, err := s.Bindings(ctx)
	must(t, err)
	bound := map[string]string{}
	for k, v := range b {
		bound[k] = v.GroupID
	}
	return in, bound
}

// plan runs `groupsync plan --format json` and decodes the plan; exit 1
// (a group blocked by an error) is expected while intents are open.
func (r *crashRig) plan() *reconcile.Plan {
	t := r.t
	t.Helper()
	res := r.cli.runOK(t, []string{"plan", "--format", "json", "-f", r.manifest, "--settle", r.o.settle.String()}, 0, 1)
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil {
		t.Fatalf("plan --format json: %v\n%s", err, res)
	}
	return &p
}

// resolveByHand plans, checks that the plan shows every open intent, and
// (when resolve is set) does what the plan's fixes say for every Yunzhijia
// unknown outcome, running the commands the fix names: it looks for the
// group by name on the vendor (state import KEY ID --provider P, or state
// forget KEY when there is none) and for the notice or banner in the group
// (state resolve KEY posted|not-posted --hash H). It returns how many it
// resolved.
func (r *crashRig) resolveByHand(tally map[string]int, resolve bool) int {
	t := r.t
	t.Helper()
	intents, _ := r.intentsAndBindings()
	p := r.plan()
	checkSurfaced(t, r.w, r.m, intents, p)
	for _, gp := range p.Groups {
		if gp.Bind != nil && (gp.Bind.Kind == reconcile.BindRecover || gp.Bind.Kind == reconcile.BindRetry) {
			tally[string(gp.Vendor)+" "+string(gp.Bind.Kind)+" (seen in a plan)"]++
		}
		if gp.Create != nil && gp.Create.IntentID != 0 {
			tally[string(gp.Vendor)+" sent again (seen in a plan)"]++
		}
		if hasIssue(&gp, reconcile.IssueSettling) {
			tally[settlingSeen]++
		}
	}
	if !resolve {
		return 0
	}
	n := 0
	for _, gp := range p.Groups {
		g := specGroup(r.m, gp.Key)
		for _, is := range gp.Errors {
			switch is.Kind {
			case reconcile.IssueUnknownCreate:
				n++
				ids := r.w.groupsNamed(g.Vendor, g.Name)
				switch len(ids) {
				case 0:
					// On a terminal, forget asks; --yes is the answer. The
					// person's --settle is their plan's: forget refuses a
					// create still settling by it.
					r.cli.runOK(t, append(fixCommand(t, is.Fix, "state forget"), "--yes", "--settle", r.o.settle.String()))
					tally["forget"]++
				case 1:
					r.cli.runOK(t, replaceArg(fixCommand(t, is.Fix, "state import"), "ID", ids[0]))
					tally["import"]++
				default:
					t.Errorf("%s: %d groups named %q", g.Key, len(ids), g.Name)
				}
			case reconcile.IssueUnknownPost:
				n++
				hash := fixHash(is.Fix)
				intent, ok := findPostIntent(intents, gp.Key, hash)
				if !ok {
					t.Errorf("%s: the fix names hash %q, which no open intent has: %s", gp.Key, hash, is.Fix)
					continue
				}
				verdict := "not-posted"
				if found, _ := r.w.hasPost(g, intent.GroupID, hash); found {
					verdict = "posted"
				}
				r.cli.runOK(t, fixCommand(t, is.Fix, "state resolve "+gp.Key+" "+verdict+" "))
				tally[verdict]++
			}
		}
	}
	return n
}

// settlingSeen tallies the groups plans showed blocked by a create settling.
const settlingSeen = "settling (seen in a plan)"

func findPostIntent(intents []state.Intent, key, hash string) (state.Intent, bool) {
	for _, in := range intents {
		if in.Key == key && in.Kind != state.IntentCreate && in.Hash == hash {
			return in, true
		}
	}
	return state.Intent{}, false
}

var fixCommandRE = regexp.MustCompile("`groupsync ([^`]+)`")

// fixCommand returns the arguments of the command in fix that starts with
// prefix, as a person would copy it.
func fixCommand(t testing.TB, fix, prefix string) []string {
	t.Helper()
	for _, m := range fixCommandRE.FindAllStringSubmatch(fix, -1) {
		if strings.HasPrefix(m[1], prefix) {
			return strings.Fields(m[1])
		}
	}
	t.Fatalf("the fix names no `groupsync %s…` command: %s", prefix, fix)
	return nil
}

func replaceArg(args []string, old, new string) []string {
	for i, a := range args {
		if a == old {
			args[i] = new
		}
	}
	return args
}

// converge resolves and applies until a plan has nothing to do, then checks
// that a last apply and plan write nothing and the vendors hold the
// manifest once.
func (r *crashRig) converge(tally map[string]int) {
	t := r.t
	t.Helper()
	for round := 0; ; round++ {
		if round > 20 {
			t.Fatalf("no convergence after %d rounds", round)
		}
		if r.resolveByHand(tally, true) > 0 {
			continue
		}
		p := r.plan()
		if !p.CanApply() && !p.HasErrors() {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		waited := waitSettled(ctx, t, r.w, p, func() []state.Intent { in, _ := r.intentsAndBindings(); return in }, r.o.settle)
		cancel()
		if waited {
			continue
		}
		r.checkRun(r.cli.run(t, r.applyArgs()...))
		r.w.checkNoDuplicates(t, "converging")
		if t.Failed() {
			return
		}
	}
	writes := r.w.writeCalls()
	res := r.cli.runOK(t, r.applyArgs())
	if !strings.Contains(res.stdout, "Nothing to apply.") {
		t.Errorf("final apply found something to do\n%s", res)
	}
	r.cli.runOK(t, []string{"plan", "--detailed-exitcode", "-f", r.manifest})
	if n := r.w.writeCalls() - writes; n != 0 {
		t.Errorf("final apply and plan made %d write calls", n)
	}
	if open := r.checkState(); open != 0 {
		t.Errorf("%d intents left open", open)
	}
	_, bound := r.intentsAndBindings()
	r.w.checkConverged(t, r.m, bound)
}

// killAfter starts groupsync and kills it with SIGKILL after delay unless
// it has finished. killed reports whether the kill ended it.
func (c *cli) killAfter(t testing.TB, delay time.Duration, args ...string) (res result, killed bool) {
	t.Helper()
	cmd, stdout, stderr := c.command(context.Background(), args...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err = <-done // reaped: the lock's holder is provably gone
	}
	res = result{args: args, stdout: stdout.String(), stderr: stderr.String(), duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return res, true
		}
	default:
		t.Fatalf("groupsync %s: %v", strings.Join(args, " "), err)
	}
	if time.Since(start) > time.Minute {
		t.Fatalf("groupsync %s took %v", strings.Join(args, " "), time.Since(start))
	}
	return res, false
}

// Package converge is groupsync's core flow, the one way `plan`, `apply`,
// `run`, the scale benchmark and the reliability rig bring the vendors to
// the manifest: make the plan (every provider's token first, then each
// group planned as its read arrives), check the safety limits, ask for
// approval, apply (caching what each group's apply did as it ends), and
// record the run in the state's history. The command keeps its flags, its
// wiring and its output, which it gives the flow as functions.
package converge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// ErrReported is an error already reported to the user (the plan showed
// it, or the result did): the command exits 1 without saying it again.
var ErrReported = errors.New("reported")

// Capabilities are the registered vendors' capabilities, for the planner.
func Capabilities() map[spec.Vendor]vendors.Capabilities {
	out := map[spec.Vendor]vendors.Capabilities{}
	for _, d := range vendors.All() {
		out[spec.Vendor(d.Name)] = d.Capabilities
	}
	return out
}

// Planner makes plans: the part of a Flow that `plan` needs alone.
type Planner struct {
	Store   *state.Store
	Clients map[string]vendors.Client // by provider name; nil plans from the cache only
	// Authorize gets every provider's token before anything is planned and
	// returns the providers without one, with their one error: their
	// groups are blocked without a call. Nil: every provider has one.
	Authorize   func(ctx context.Context) map[string]error
	Parallelism int
	Settle      time.Duration
	Now         func() time.Time // default time.Now
}

// Plan makes the plan: live reads when refresh (cached as they arrive),
// else the state's cached reads with no network.
func (p *Planner) Plan(ctx context.Context, m *spec.Manifest, refresh bool) (*reconcile.Plan, error) {
	if m.HeadsOnly {
		return nil, errors.New("plan: the manifest's groups were not loaded (spec.Heads)")
	}
	o := reconcile.PlanOptions{Caps: Capabilities(), Parallelism: p.Parallelism, Refresh: refresh, Settle: p.Settle, Now: p.Now}
	down := p.authorize(ctx)
	o.Clients = usable(p.Clients, down)
	plan, err := reconcile.MakePlan(ctx, m, p.Store, o)
	if err != nil {
		return nil, err
	}
	reconcile.BlockProviders(plan, down)
	return plan, nil
}

func (p *Planner) authorize(ctx context.Context) map[string]error {
	if p.Authorize == nil || p.Clients == nil {
		return nil
	}
	return p.Authorize(ctx)
}

func (p *Planner) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// usable returns the clients of the providers not in down.
func usable(clients map[string]vendors.Client, down map[string]error) map[string]vendors.Client {
	if len(down) == 0 {
		return clients
	}
	out := make(map[string]vendors.Client, len(clients))
	for name, c := range clients {
		if _, bad := down[name]; !bad {
			out[name] = c
		}
	}
	return out
}

// Limits are the safety limits checked before any change.
type Limits struct {
	MaxNewGroups int // groups created
	MaxRemovals  int // members removed in all (prune)
}

// Flow is one plan and apply, recorded in the run history.
type Flow struct {
	Planner
	Trigger      string // the run history's trigger: "apply" or "schedule"
	RecordAlways bool   // record the run from its start, even when it fails early or has nothing to apply
	Limits       Limits
	// What and RunTimeout name the flow and its deadline (ctx's) in the
	// error that says it passed: "the apply", "the run".
	What       string
	RunTimeout time.Duration
	Log        *slog.Logger // default slog.Default()

	// The command's output, each optional.
	//
	// Show shows a plan the flow made (not a saved one).
	Show func(p *reconcile.Plan) error
	// ShowProviders shows, for a saved plan, the providers blocked for
	// want of a token.
	ShowProviders func(p *reconcile.Plan)
	// Say says one line to the person watching ("Nothing to apply.").
	Say func(line string)
	// Approve asks for approval of a plan the flow made; nil approves
	// (--auto-approve). A saved plan was approved when it was saved.
	Approve func(p *reconcile.Plan) error
	// Applying is called with the plan just before its apply starts.
	Applying func(p *reconcile.Plan)
	// OnGroup is called as each group's apply ends (on the apply's
	// goroutines).
	OnGroup func(reconcile.GroupResult)
	// Applied is called once the apply ended and its effects are cached.
	Applied func(p *reconcile.Plan, res *reconcile.Result)

	// cached is called with the keys of each batch of reads the apply
	// cached (see appliedCache); for tests.
	cached func(keys []string)
}

// Report is what one plan and apply did.
type Report struct {
	Plan    *reconcile.Plan   // nil when planning failed
	Result  *reconcile.Result // nil when nothing was applied
	Outcome state.Outcome
	Err     error // ErrReported when the failure was already shown
}

// ErrStateMoved refuses a saved plan made at another serial of its state.
var ErrStateMoved = errors.New("the state changed since the plan was saved (an apply or a state command ran since); nothing was changed\n" +
	"hint: make a new plan with `groupsync plan -f PATH... --out FILE`, review it and apply that")

// CheckSavedPlan refuses, before any call and any state write, a saved plan
// made from another state (lineage), at another serial, or that does what
// its manifest m (at the plan's digest, loaded once for both) does not ask
// for, removals included (reconcile.CheckRemovals). A sealed plan (see state.SealPlan) is the one this groupsync made
// from m at that serial: only its lineage and serial are checked, and m
// may hold only its heads (spec.Heads).
func CheckSavedPlan(ctx context.Context, store *state.Store, m *spec.Manifest, p *reconcile.Plan, path string, sealed bool) error {
	lineage, err := store.Lineage(ctx)
	if err != nil {
		return err
	}
	switch {
	case p.StateLineage == "":
		return fmt.Errorf("the saved plan %s records no state lineage (an older groupsync made it); nothing was changed\nhint: make the plan again with `groupsync plan -f PATH... --out FILE`", path)
	case p.StateLineage != lineage:
		return fmt.Errorf("plan was made from state lineage %s, this state is %s (%s); nothing was changed\nhint: apply it with the --state it was made from, or make a new plan of this state", p.StateLineage, lineage, store.Path())
	}
	serial, err := store.Serial(ctx)
	if err != nil {
		return err
	}
	if serial != p.StateSerial {
		return ErrStateMoved
	}
	switch {
	case sealed:
		return nil
	case m.HeadsOnly:
		return errors.New("check saved plan: the manifest's groups were not loaded, and the plan is not sealed")
	}
	bindings, err := store.Bindings(ctx)
	if err != nil {
		return err
	}
	posts, err := store.Posts(ctx)
	if err != nil {
		return err
	}
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	// Another apply may have written meanwhile: what was read is then not
	// the plan's state, and the plan is stale anyway.
	if again, err := store.Serial(ctx); err != nil {
		return err
	} else if again != serial {
		return ErrStateMoved
	}
	if diffs := reconcile.CheckSaved(p, m, bindings, posts, intents); len(diffs) > 0 {
		return reconcile.AlteredError(path, diffs)
	}
	return reconcile.CheckRemovals(p, m)
}

// Run plans (unless saved is a saved plan, which CheckSavedPlan passed
// before the lock was taken; its serial is checked again), checks the
// safety limits, asks, applies, caches what was done and records the run:
// from its first change on, or from its start with RecordAlways.
func (f *Flow) Run(ctx context.Context, m *spec.Manifest, saved *reconcile.Plan) Report {
	rec := &recorder{store: f.Store, trigger: f.Trigger, now: f.now}
	if f.RecordAlways {
		if err := rec.begin(ctx); err != nil {
			return Report{Outcome: OutcomeOf(ctx, nil, nil, err), Err: err}
		}
	}
	rep := f.planAndApply(ctx, m, saved, rec)
	rep.Outcome = OutcomeOf(ctx, rep.Plan, rep.Result, rep.Err)
	// A run stopped by its deadline failed: it was not asked to stop.
	if err := DeadlineError(ctx, f.What, f.RunTimeout, rep.Err); err != nil {
		rep.Outcome, rep.Err = state.RunFailed, err
	}
	if err := rec.end(ctx, rep); err != nil {
		if rep.Err == nil || errors.Is(rep.Err, ErrReported) {
			rep.Err = err
		} else {
			rep.Err = errors.Join(rep.Err, err)
		}
	}
	return rep
}

func (f *Flow) planAndApply(ctx context.Context, m *spec.Manifest, p *reconcile.Plan, rec *recorder) (rep Report) {
	saved := p != nil
	if saved {
		serial, err := f.Store.Serial(ctx)
		if err != nil {
			return Report{Err: err}
		}
		if serial != p.StateSerial {
			return Report{Err: ErrStateMoved}
		}
		// A provider without a token now: its groups are not applied, and
		// why is said once.
		if down := f.authorize(ctx); len(down) > 0 {
			reconcile.BlockProviders(p, down)
			if f.ShowProviders != nil {
				f.ShowProviders(p)
			}
		}
	} else {
		var err error
		if p, err = f.Plan(ctx, m, true); err != nil {
			return Report{Err: err}
		}
		if f.Show != nil {
			if err := f.Show(p); err != nil {
				return Report{Plan: p, Err: err}
			}
		}
	}
	rep.Plan = p
	if !p.CanApply() {
		f.say("Nothing to apply.")
		if p.HasErrors() {
			rep.Err = ErrReported
		}
		return rep
	}
	if rep.Err = CheckSafety(p, f.Limits); rep.Err != nil {
		return rep
	}
	if f.Approve != nil && !saved {
		if rep.Err = f.Approve(p); rep.Err != nil {
			return rep
		}
	}
	if rep.Err = rec.begin(ctx); rep.Err != nil {
		return rep
	}
	if f.Applying != nil {
		f.Applying(p)
	}
	cache := startAppliedCache(ctx, f.Store, p, f.now, f.log(), f.cached)
	onGroup := func(r reconcile.GroupResult) {
		cache.add(r)
		if f.OnGroup != nil {
			f.OnGroup(r)
		}
	}
	ap := &reconcile.Applier{Clients: f.Clients, Journal: f.Store, Parallelism: f.Parallelism, OnGroup: onGroup}
	rep.Result = ap.Apply(ctx, p)
	cache.close()
	if f.Applied != nil {
		f.Applied(p, rep.Result)
	}
	// An interrupted apply failed to do what it was asked: exit 1, so that
	// a CI step is not green; what was done and what to do were shown.
	if rep.Result.Failed > 0 || p.HasErrors() || rep.Result.Canceled {
		rep.Err = ErrReported
	}
	return rep
}

func (f *Flow) say(line string) {
	if f.Say != nil {
		f.Say(line)
	}
}

func (f *Flow) log() *slog.Logger {
	if f.Log == nil {
		return slog.Default()
	}
	return f.Log
}

// CheckSafety runs before any change: a plan that creates too many groups
// is refused, since a lost state file would otherwise duplicate every
// group, and so is one that removes too many members, since a manifest that
// lost its members (a bad merge, a wrong -f) would otherwise empty its
// groups. Both are counted from the groups' steps, not the summary, so that
// a saved plan's summary cannot hide them.
func CheckSafety(p *reconcile.Plan, l Limits) error {
	creates := 0
	removals, groups := 0, 0
	for i := range p.Groups {
		if p.Groups[i].Create != nil {
			creates++
		}
		if n := len(p.Groups[i].Remove); n > 0 {
			removals += n
			groups++
		}
	}
	if creates > l.MaxNewGroups {
		return fmt.Errorf("the plan creates %d groups, more than --max-new-groups %d; nothing was changed\nhint: if the state file was lost or replaced, restore it; if these groups are really new, raise --max-new-groups", creates, l.MaxNewGroups)
	}
	if removals > l.MaxRemovals {
		return fmt.Errorf("the plan removes %s from %s, more than --max-removals %d; nothing was changed\nhint: check the manifest lists everyone it should (prune removes every member it does not list); if these removals are intended, run again with --max-removals %d", plural(removals, "member"), plural(groups, "group"), l.MaxRemovals, removals)
	}
	return nil
}

// OutcomeOf classifies a run for its record, its metrics and its health.
func OutcomeOf(ctx context.Context, p *reconcile.Plan, res *reconcile.Result, err error) state.Outcome {
	switch {
	case res != nil:
		return RunRecord(0, time.Time{}, time.Time{}, p, res).Outcome
	case err != nil && ctx.Err() != nil:
		return state.RunInterrupted
	case err != nil:
		return state.RunFailed
	}
	return state.RunOK
}

// RunRecord is the history's record of an apply that ran.
func RunRecord(id int64, started, ended time.Time, p *reconcile.Plan, res *reconcile.Result) state.Run {
	r := state.Run{ID: id, Started: started, Ended: ended, Outcome: state.RunOK,
		Created: res.Created, Added: res.Added, Removed: res.Removed, Posted: res.Notices + res.Banners,
		Drift: p.Summary.Drift, Errors: res.Failed + p.Summary.Errors}
	switch {
	case res.Canceled:
		r.Outcome = state.RunInterrupted
	case r.Errors > 0:
		r.Outcome = state.RunFailed
	}
	return r
}

// DeadlineError says that what ran on ctx passed its --run-timeout, wrapping
// the error it ended with (unless already reported); nil when it did not.
func DeadlineError(ctx context.Context, what string, d time.Duration, err error) error {
	// The clock as well as ctx.Err: a call's own copy of the deadline may
	// fire before ctx's timer has marked ctx done.
	// A run that ended well is not failed for ending at its deadline.
	dl, ok := ctx.Deadline()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) && (err == nil || !ok || time.Now().Before(dl)) {
		return nil
	}
	msg := fmt.Sprintf("%s passed its deadline (--run-timeout %s)", what, d)
	if err != nil && !errors.Is(err, ErrReported) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return fmt.Errorf("%s; what was not done by then was left undone\nhint: a vendor may be slow or not answering; raise --run-timeout if a run needs longer", msg)
}

// recorder records one run in the state's history, once begun.
type recorder struct {
	store   *state.Store
	trigger string
	now     func() time.Time
	id      int64 // 0 until begun
	started time.Time
}

func (r *recorder) begin(ctx context.Context) error {
	if r.id != 0 {
		return nil
	}
	r.started = r.now()
	id, err := r.store.BeginRun(ctx, r.started, r.trigger)
	r.id = id
	return err
}

// end records the run's outcome, even when ctx is cancelled; a run never
// begun is not recorded.
func (r *recorder) end(ctx context.Context, rep Report) error {
	if r.id == 0 {
		return nil
	}
	run := state.Run{ID: r.id, Started: r.started, Ended: r.now(), Outcome: rep.Outcome}
	switch {
	case rep.Result != nil:
		run = RunRecord(r.id, r.started, r.now(), rep.Plan, rep.Result)
	case rep.Plan != nil:
		run.Drift, run.Errors = rep.Plan.Summary.Drift, rep.Plan.Summary.Errors
	}
	run.Outcome = rep.Outcome // a run past its deadline failed, though its apply says interrupted
	if rep.Err != nil && !errors.Is(rep.Err, ErrReported) {
		run.Message = rep.Err.Error()
	}
	return r.store.EndRun(context.WithoutCancel(ctx), run)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

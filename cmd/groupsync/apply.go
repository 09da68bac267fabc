package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/render"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

type applyFlags struct {
	common       commonFlags
	files        stringList
	autoApprove  bool
	maxNewGroups int
	maxRemovals  int
	lockTimeout  time.Duration
	runTimeout   time.Duration
	lockStale    time.Duration
	settle       time.Duration
}

func (a *app) apply(ctx context.Context, args []string) error {
	fs := a.newFlagSet("apply", "apply -f PATH... [--auto-approve] | apply PLANFILE",
		"groupsync apply --sandbox -f examples/groups.yaml --auto-approve")
	var f applyFlags
	a.addCommon(fs, &f.common)
	fs.Var(&f.files, "f", "manifest `file or directory` (repeatable)")
	fs.BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking")
	fs.IntVar(&f.maxNewGroups, "max-new-groups", 20, "refuse a plan that creates more than `n` groups (a lost state file must not mass-create duplicates)")
	fs.IntVar(&f.maxRemovals, "max-removals", 20, "refuse a plan that removes more than `n` members in all (prune)")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "wait this long for another apply or run to release the state file (0: fail at once)")
	addRunTimeout(fs, &f.runTimeout)
	addLockStale(fs, &f.lockStale)
	addSettle(fs, &f.settle)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := f.common.check(); err != nil {
		return err
	}
	if err := checkSettle(f.settle); err != nil {
		return err
	}
	if f.maxNewGroups < 0 {
		return fmt.Errorf("--max-new-groups: must not be negative, got %d", f.maxNewGroups)
	}
	if f.maxRemovals < 0 {
		return fmt.Errorf("--max-removals: must not be negative, got %d", f.maxRemovals)
	}
	if err := (lockFlags{f.lockTimeout, f.lockStale}).check(); err != nil {
		return err
	}
	if err := checkRunTimeout(f.runTimeout); err != nil {
		return err
	}
	var saved *reconcile.Plan
	switch {
	case len(pos) == 1 && len(f.files) == 0:
		if saved, err = readPlan(pos[0]); err != nil {
			return err
		}
		f.files = saved.ManifestFiles
	case len(pos) > 0:
		return fmt.Errorf("apply takes either -f PATH... or one saved plan file, not %q\nhint: groupsync apply -f groups.yaml, or groupsync plan -f groups.yaml --out plan.json && groupsync apply plan.json", strings.Join(pos, " "))
	}
	m, err := a.load(f.files)
	if err != nil {
		return err
	}
	if saved != nil && saved.ManifestDigest != m.Digest {
		return fmt.Errorf("the manifest changed since the plan %s was saved; nothing was changed\nhint: make a new plan with `groupsync plan -f %s --out %s`, review it and apply that", pos[0], strings.Join(f.files, " -f "), pos[0])
	}
	log, err := a.logger(f.common.logFormat)
	if err != nil {
		return err
	}
	if err := a.checkTokens(m, &f.common); err != nil {
		return err
	}
	if saved != nil {
		// A saved plan is applied to the state it was made from, never to a
		// new one: Open would create the file.
		if _, err := os.Stat(f.common.state); !state.IsPostgres(f.common.state) && errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("state file %s does not exist, and a saved plan is applied only to the state it was made from; nothing was changed\nhint: name that state file with --state (or GROUPSYNC_STATE)", f.common.state)
		}
	}
	store, err := state.Open(f.common.location())
	if err != nil {
		return err
	}
	defer store.Close()
	if saved != nil {
		// Read only, before the lock is taken: a refused plan leaves the
		// state file as it was. The serial is checked again under the lock.
		if err := checkSavedPlan(ctx, store, m, saved, pos[0]); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.runTimeout)
	defer cancel()
	unlock, err := a.lock(ctx, store, "groupsync apply", &f.common, lockFlags{f.lockTimeout, f.lockStale}, log)
	if err != nil {
		return err
	}
	defer unlock()
	conns, err := a.connect(m, &f.common, log, nil)
	if err != nil {
		return err
	}
	err = a.applyWith(ctx, m, store, conns, log, &f, saved)
	if cerr := conns.close(); err == nil {
		err = cerr
	}
	return err
}

// errStateMoved refuses a saved plan made at another serial of its state.
var errStateMoved = errors.New("the state changed since the plan was saved (an apply or a state command ran since); nothing was changed\n" +
	"hint: make a new plan with `groupsync plan -f PATH... --out FILE`, review it and apply that")

// checkSavedPlan refuses, before any call and any state write, a saved plan
// made from another state (lineage), at another serial, or that does what
// its manifest m (at the plan's digest, loaded once for both) does not ask
// for.
func checkSavedPlan(ctx context.Context, store *state.Store, m *spec.Manifest, p *reconcile.Plan, path string) error {
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
		return errStateMoved
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
		return errStateMoved
	}
	if diffs := reconcile.CheckSaved(p, m, bindings, posts, intents); len(diffs) > 0 {
		return reconcile.AlteredError(path, diffs)
	}
	return nil
}

func (a *app) applyWith(ctx context.Context, m *spec.Manifest, store *state.Store, conns *connections, log *slog.Logger, f *applyFlags, p *reconcile.Plan) error {
	return a.converge(ctx, m, store, conns, log, convergeOpts{
		trigger:      "apply",
		autoApprove:  f.autoApprove,
		maxNewGroups: f.maxNewGroups,
		maxRemovals:  f.maxRemovals,
		parallelism:  f.common.parallelism,
		runTimeout:   f.runTimeout,
		settle:       f.settle,
		out:          a.stdout,
		progress:     a.terminal,
	}, p).err
}

// convergeOpts are what differs between `apply` and a scheduled run.
type convergeOpts struct {
	trigger      string // the run history's trigger: "apply" or "schedule"
	recordAlways bool   // record the run from its start, even when it fails early or has nothing to apply
	autoApprove  bool
	maxNewGroups int
	maxRemovals  int // members removed in all (prune)
	parallelism  int
	runTimeout   time.Duration // ctx's deadline, for the error that says it passed
	settle       time.Duration
	out          io.Writer // the plan and the result, for a person; io.Discard leaves only logs
	progress     bool      // live progress on the terminal instead of a log line per group
}

// runReport is what one plan+apply did.
type runReport struct {
	plan    *reconcile.Plan   // nil when planning failed
	result  *reconcile.Result // nil when nothing was applied
	outcome string            // state.RunOK, state.RunFailed or state.RunInterrupted
	err     error             // errReported when the failure was already printed
}

// converge is one plan+apply, the flow `apply` and `run` share: plan (unless
// p is a saved plan), check the safety limits, ask, apply, and record the run
// in the state's history: from its first change on, or from its start with
// recordAlways.
func (a *app) converge(ctx context.Context, m *spec.Manifest, store *state.Store, conns *connections, log *slog.Logger, o convergeOpts, p *reconcile.Plan) runReport {
	rec := &runRecorder{store: store, trigger: o.trigger}
	if o.recordAlways {
		if err := rec.begin(ctx); err != nil {
			return runReport{outcome: outcomeOf(ctx, runReport{err: err}), err: err}
		}
	}
	rep := a.planAndApply(ctx, m, store, conns, log, o, p, rec)
	rep.outcome = outcomeOf(ctx, rep)
	// A run stopped by its deadline failed: it was not asked to stop.
	what := map[bool]string{true: "the apply", false: "the run"}[o.trigger == "apply"]
	if err := deadlineError(ctx, what, o.runTimeout, rep.err); err != nil {
		rep.outcome, rep.err = state.RunFailed, err
	}
	if err := rec.end(ctx, rep); err != nil {
		if rep.err == nil || errors.Is(rep.err, errReported) {
			rep.err = err
		} else {
			rep.err = errors.Join(rep.err, err)
		}
	}
	return rep
}

func (a *app) planAndApply(ctx context.Context, m *spec.Manifest, store *state.Store, conns *connections, log *slog.Logger, o convergeOpts, p *reconcile.Plan, rec *runRecorder) (rep runReport) {
	saved := p != nil
	if saved {
		serial, err := store.Serial(ctx)
		if err != nil {
			return runReport{err: err}
		}
		if serial != p.StateSerial {
			return runReport{err: errStateMoved}
		}
		// A provider without a token now: its groups are not applied, and
		// why is said once.
		if down := conns.authorize(ctx, m); len(down) > 0 {
			reconcile.BlockProviders(p, down)
			for _, l := range render.ProviderLines(p) {
				fmt.Fprintln(o.out, l)
			}
		}
	} else {
		var err error
		if p, err = makePlan(ctx, m, store, conns, o.parallelism, true, o.settle); err != nil {
			return runReport{err: err}
		}
		if err := a.render(o.out, p, "text"); err != nil {
			return runReport{plan: p, err: err}
		}
	}
	rep.plan = p
	if !p.CanApply() {
		fmt.Fprintln(o.out, "Nothing to apply.")
		rep.err = planExit(p, false)
		return rep
	}
	if rep.err = checkSafety(p, o.maxNewGroups, o.maxRemovals); rep.err != nil {
		return rep
	}
	if saved {
		if rep.err = reconcile.CheckRemovals(p, m); rep.err != nil {
			return rep
		}
	}
	if !o.autoApprove && !saved {
		if rep.err = a.approve(); rep.err != nil {
			return rep
		}
	}
	if rep.err = rec.begin(ctx); rep.err != nil {
		return rep
	}
	rep.result = a.execute(ctx, p, store, conns, log, o.parallelism, o.progress)
	cacheApplied(ctx, store, log, p, rep.result)
	a.printResult(o.out, p, rep.result)
	// An interrupted apply failed to do what it was asked: exit 1, so that
	// a CI step is not green; what was done and what to do are printed.
	if rep.result.Failed > 0 || p.HasErrors() || rep.result.Canceled {
		rep.err = errReported
	}
	return rep
}

// cacheApplied records in the cached reads what the apply did, so that a
// plan from the cache afterwards starts from it. Failing to is only logged:
// the next refreshing plan reads the groups anyway. Only the cached reads of
// the groups the apply changed are loaded.
func cacheApplied(ctx context.Context, store *state.Store, log *slog.Logger, p *reconcile.Plan, res *reconcile.Result) {
	ctx = context.WithoutCancel(ctx)
	cached, err := store.CachedReads(ctx, reconcile.AppliedKeys(res))
	if err == nil {
		err = store.SaveReads(ctx, reconcile.AppliedReads(p, res, cached, time.Now()))
	}
	if err != nil {
		log.Warn("could not cache what the apply did", "error", err.Error())
	}
}

// outcomeOf classifies a run for its record, its metrics and its health.
func outcomeOf(ctx context.Context, rep runReport) string {
	switch {
	case rep.result != nil:
		return runRecord(0, time.Time{}, rep.plan, rep.result).Outcome
	case rep.err != nil && ctx.Err() != nil:
		return state.RunInterrupted
	case rep.err != nil:
		return state.RunFailed
	}
	return state.RunOK
}

// runRecorder records one run in the state's history, once begun.
type runRecorder struct {
	store   *state.Store
	trigger string
	id      int64 // 0 until begun
	started time.Time
}

func (r *runRecorder) begin(ctx context.Context) error {
	if r.id != 0 {
		return nil
	}
	r.started = time.Now()
	id, err := r.store.BeginRun(ctx, r.started, r.trigger)
	r.id = id
	return err
}

// end records the run's outcome, even when ctx is cancelled; a run never
// begun is not recorded.
func (r *runRecorder) end(ctx context.Context, rep runReport) error {
	if r.id == 0 {
		return nil
	}
	run := state.Run{ID: r.id, Started: r.started, Ended: time.Now(), Outcome: rep.outcome}
	switch {
	case rep.result != nil:
		run = runRecord(r.id, r.started, rep.plan, rep.result)
	case rep.plan != nil:
		run.Drift, run.Errors = rep.plan.Summary.Drift, rep.plan.Summary.Errors
	}
	run.Outcome = rep.outcome // a run past its deadline failed, though its apply says interrupted
	if rep.err != nil && !errors.Is(rep.err, errReported) {
		run.Message = rep.err.Error()
	}
	return r.store.EndRun(context.WithoutCancel(ctx), run)
}

// checkSafety runs before any change: a plan that creates too many groups is
// refused, since a lost state file would otherwise duplicate every group,
// and so is one that removes too many members, since a manifest that lost
// its members (a bad merge, a wrong -f) would otherwise empty its groups.
// Removals are counted from the groups' steps, not the summary, so that a
// saved plan's summary cannot hide them.
func checkSafety(p *reconcile.Plan, maxNew, maxRemovals int) error {
	if p.Summary.Create > maxNew {
		return fmt.Errorf("the plan creates %d groups, more than --max-new-groups %d; nothing was changed\nhint: if the state file was lost or replaced, restore it; if these groups are really new, raise --max-new-groups", p.Summary.Create, maxNew)
	}
	removals, groups := 0, 0
	for i := range p.Groups {
		if n := len(p.Groups[i].Remove); n > 0 {
			removals += n
			groups++
		}
	}
	if removals > maxRemovals {
		return fmt.Errorf("the plan removes %s from %s, more than --max-removals %d; nothing was changed\nhint: check the manifest lists everyone it should (prune removes every member it does not list); if these removals are intended, run again with --max-removals %d", plural(removals, "member"), plural(groups, "group"), maxRemovals, removals)
	}
	return nil
}

// approve asks on a terminal; without one it refuses, so that a script
// never applies by accident.
func (a *app) approve() error {
	if !a.terminal {
		return errors.New("apply needs --auto-approve when not run from a terminal; nothing was changed\n" +
			"hint: review the plan above, then run again with --auto-approve, or save it with `groupsync plan --out FILE` and run `groupsync apply FILE`")
	}
	fmt.Fprint(a.stdout, "\nApply these changes? Only 'yes' is accepted: ")
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return errors.New("apply cancelled; nothing was changed")
	}
	return nil
}

// execute applies p; progress shows a live count on the terminal, otherwise
// each group is logged.
func (a *app) execute(ctx context.Context, p *reconcile.Plan, store *state.Store, conns *connections, log *slog.Logger, parallelism int, progress bool) *reconcile.Result {
	total := 0
	for _, g := range p.Groups {
		if g.Action == reconcile.ActionCreate || g.Action == reconcile.ActionUpdate {
			total++
		}
	}
	// OnGroup runs on the apply's goroutines: the count and the progress
	// line are updated together, so that the last line shown is total/total.
	var (
		mu   sync.Mutex
		done int
	)
	ap := &reconcile.Applier{
		Clients:     conns.clients,
		Journal:     store,
		Parallelism: parallelism,
		OnGroup: func(r reconcile.GroupResult) {
			mu.Lock()
			defer mu.Unlock()
			done++
			n := done
			if progress {
				fmt.Fprintf(a.stderr, "\rApplying: %d/%d groups", n, total)
				return
			}
			args := []any{"group", r.Key, "groupId", r.GroupID, "created", r.Created, "added", r.Added, "notices", r.Notices, "banners", r.Banners, "done", n, "of", total}
			if r.Removed > 0 {
				args = append(args, "removed", r.Removed)
			}
			switch {
			case r.Err != nil:
				log.Error("group failed", append(args, "error", r.Err.Error())...)
			case r.Canceled:
				log.Warn("group interrupted", args...)
			default:
				log.Info("group applied", args...)
			}
		},
	}
	res := ap.Apply(ctx, p)
	if progress && total > 0 {
		fmt.Fprintln(a.stderr)
	}
	return res
}

// printResult says what the apply did, and what it left: groups interrupted
// (those partly applied say what was done), and groups the plan blocked with
// an error, which are why an apply with no failure can still exit 1.
func (a *app) printResult(w io.Writer, p *reconcile.Plan, res *reconcile.Result) {
	unknown := false
	for _, r := range res.Groups {
		switch {
		case r.Err != nil:
			for _, line := range errorLines(r.Key, r.Err) {
				fmt.Fprintf(w, "! %s: %s\n", r.Key, line)
			}
			unknown = unknown || r.Unknown
		case r.Canceled && len(doneSteps(r)) > 0:
			fmt.Fprintf(w, "- %s: partly applied (%s), then interrupted: the rest was not sent\n", r.Key, strings.Join(doneSteps(r), ", "))
		case r.Canceled:
			fmt.Fprintf(w, "- %s: not applied (interrupted)\n", r.Key)
		}
	}
	members := plural(res.Added, "member") + " added"
	if res.Removed > 0 {
		members += ", " + plural(res.Removed, "member") + " removed"
	}
	fmt.Fprintf(w, "\nApply %s: %s created, %s, %s, %s posted, %s recorded; %s failed.\n",
		map[bool]string{true: "interrupted", false: "complete"}[res.Canceled],
		plural(res.Created, "group"), members, plural(res.Notices, "notice"), plural(res.Banners, "banner"),
		plural(res.Bound, "binding"), plural(res.Failed, "group"))
	if blocked := blockedGroups(p); len(blocked) > 0 {
		fmt.Fprintf(w, "Not applied, for an error shown in the plan: %s.\n", strings.Join(blocked, ", "))
	}
	if res.Canceled {
		fmt.Fprintln(w, "Run `groupsync apply` again to finish: what was done is recorded and will not be repeated.")
	}
	if unknown {
		fmt.Fprintln(w, "Some writes have an unknown outcome: they will not be repeated blindly. Run `groupsync plan` to see how to resolve them.")
	}
}

// errorLines are the lines of a group's error, each without the "group
// KEY: " the apply's errors start with, as the summary names the key
// itself ("! newg: create: …", not "! newg: group newg: create: …"). Every
// failure joined into err gets its own line.
func errorLines(key string, err error) []string {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "group "+key+": ")
	}
	return lines
}

// doneSteps lists what an interrupted group's apply did before it stopped.
func doneSteps(r reconcile.GroupResult) []string {
	var did []string
	if r.Created {
		did = append(did, "group created")
	}
	if r.Added > 0 {
		did = append(did, plural(r.Added, "member")+" added")
	}
	if r.Removed > 0 {
		did = append(did, plural(r.Removed, "member")+" removed")
	}
	if r.Notices > 0 {
		did = append(did, plural(r.Notices, "notice")+" posted")
	}
	if r.Banners > 0 {
		did = append(did, plural(r.Banners, "banner")+" posted")
	}
	return did
}

// blockedGroups are the keys of the groups with an error in the plan.
func blockedGroups(p *reconcile.Plan) []string {
	var keys []string
	for i := range p.Groups {
		if len(p.Groups[i].Errors) > 0 {
			keys = append(keys, p.Groups[i].Key)
		}
	}
	return keys
}

func runRecord(id int64, started time.Time, p *reconcile.Plan, res *reconcile.Result) state.Run {
	r := state.Run{ID: id, Started: started, Ended: time.Now(), Outcome: "ok",
		Created: res.Created, Added: res.Added, Posted: res.Notices + res.Banners,
		Drift: p.Summary.Drift, Errors: res.Failed + p.Summary.Errors}
	switch {
	case res.Canceled:
		r.Outcome = "interrupted"
	case r.Errors > 0:
		r.Outcome = "failed"
	}
	return r
}

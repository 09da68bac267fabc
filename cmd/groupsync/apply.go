package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"groupsync/internal/converge"
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
	var (
		saved  *reconcile.Plan
		m      *spec.Manifest
		sealed bool
		store  *state.Store // opened by loadSaved to find the seal
		sp     *savedPlan
	)
	switch {
	case len(pos) == 1 && len(f.files) == 0:
		if sp, err = a.loadSaved(ctx, pos[0], f.common.location(), !f.common.sandbox); err != nil {
			return err
		}
		saved, m, sealed, store = sp.p, sp.m, sp.sealed, sp.store
		if store != nil {
			defer store.Close()
		}
		f.files = saved.ManifestFiles
	case len(pos) > 0:
		return fmt.Errorf("apply takes either -f PATH... or one saved plan file, not %q\nhint: groupsync apply -f groups.yaml, or groupsync plan -f groups.yaml --out plan.json && groupsync apply plan.json", strings.Join(pos, " "))
	default:
		if m, err = a.load(f.files); err != nil {
			return err
		}
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
	if saved != nil && store == nil {
		// A saved plan is applied to the state it was made from, never to a
		// new one: Open would create the file.
		if state.FileMissing(f.common.location()) {
			return fmt.Errorf("state file %s does not exist, and a saved plan is applied only to the state it was made from; nothing was changed\nhint: name that state file with --state (or GROUPSYNC_STATE)", f.common.state)
		}
	}
	if store == nil {
		if sp != nil && sp.openErr != nil {
			return sp.openErr
		}
		if store, err = state.Open(f.common.location()); err != nil {
			return err
		}
		defer store.Close()
	}
	if saved != nil {
		// Read only, before the lock is taken: a refused plan leaves the
		// state file as it was. The serial is checked again under the lock.
		if err := converge.CheckSavedPlan(ctx, store, m, saved, pos[0], sealed); err != nil {
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
	}, p).Err
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
type runReport = converge.Report

// converge is one plan+apply, the flow `apply` and `run` share (see package
// converge), with this command's output: the plan, the question, the
// progress and the result.
func (a *app) converge(ctx context.Context, m *spec.Manifest, store *state.Store, conns *connections, log *slog.Logger, o convergeOpts, p *reconcile.Plan) runReport {
	prog := &progress{a: a, log: log, live: o.progress}
	f := &converge.Flow{
		Planner:      newPlanner(m, p, store, conns, o.parallelism, o.settle),
		Trigger:      o.trigger,
		RecordAlways: o.recordAlways,
		Limits:       converge.Limits{MaxNewGroups: o.maxNewGroups, MaxRemovals: o.maxRemovals},
		What:         map[bool]string{true: "the apply", false: "the run"}[o.trigger == "apply"],
		RunTimeout:   o.runTimeout,
		Log:          log,
		Show:         func(p *reconcile.Plan) error { return a.render(o.out, p, "text") },
		ShowProviders: func(p *reconcile.Plan) {
			for _, l := range render.ProviderLines(p) {
				fmt.Fprintln(o.out, l)
			}
		},
		Say:      func(line string) { fmt.Fprintln(o.out, line) },
		Applying: prog.start,
		OnGroup:  prog.group,
		Applied: func(p *reconcile.Plan, res *reconcile.Result) {
			prog.end()
			a.printResult(o.out, p, res)
		},
	}
	if !o.autoApprove {
		f.Approve = func(*reconcile.Plan) error { return a.approve() }
	}
	return f.Run(ctx, m, p)
}

// planner makes the plans of one command, every provider's token first.
func newPlanner(m *spec.Manifest, saved *reconcile.Plan, store *state.Store, conns *connections, parallelism int, settle time.Duration) converge.Planner {
	pl := converge.Planner{Store: store, Parallelism: parallelism, Settle: settle}
	if conns != nil {
		pl.Clients = conns.clients
		pl.Authorize = func(ctx context.Context) map[string]error { return conns.authorize(ctx, usedProviders(m, saved)) }
	}
	return pl
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

// progress shows the apply's progress: a live count on the terminal,
// otherwise a log line per group.
type progress struct {
	a     *app
	log   *slog.Logger
	live  bool
	mu    sync.Mutex // group runs on the apply's goroutines
	total int
	done  int
}

func (pr *progress) start(p *reconcile.Plan) {
	for _, g := range p.Groups {
		if g.Action == reconcile.ActionCreate || g.Action == reconcile.ActionUpdate {
			pr.total++
		}
	}
}

// group counts a group's end; the count and the progress line are updated
// together, so that the last line shown is total/total.
func (pr *progress) group(r reconcile.GroupResult) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.done++
	n, total := pr.done, pr.total
	if pr.live {
		fmt.Fprintf(pr.a.stderr, "\rApplying: %d/%d groups", n, total)
		return
	}
	args := []any{"group", r.Key, "groupId", r.GroupID, "created", r.Created, "added", r.Added, "notices", r.Notices, "banners", r.Banners, "done", n, "of", total}
	if r.Removed > 0 {
		args = append(args, "removed", r.Removed)
	}
	if r.Renamed {
		args = append(args, "renamed", true)
	}
	if r.OwnerSet {
		args = append(args, "ownerChanged", true)
	}
	switch {
	case r.Err != nil:
		pr.log.Error("group failed", append(args, "error", r.Err.Error())...)
	case r.Canceled:
		pr.log.Warn("group interrupted", args...)
	default:
		pr.log.Info("group applied", args...)
	}
}

func (pr *progress) end() {
	if pr.live && pr.total > 0 {
		fmt.Fprintln(pr.a.stderr)
	}
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
	if res.Renamed > 0 {
		members += ", " + plural(res.Renamed, "group") + " renamed"
	}
	if res.OwnerSet > 0 {
		members += ", " + plural(res.OwnerSet, "owner") + " changed"
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
	if r.Renamed {
		did = append(did, "renamed")
	}
	if r.OwnerSet {
		did = append(did, "owner changed")
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

// savedPlan is a saved plan read for apply: the plan and its manifest, in
// full or, when the plan is sealed (see seal.go), only its heads, with the
// state it was found sealed in.
type savedPlan struct {
	p      *reconcile.Plan
	m      *spec.Manifest
	sealed bool
	store  *state.Store // open when sealed; nil otherwise
	// openErr is why a PostgreSQL state could not be opened to look for
	// the seal: opening it again would wait out the same timeout.
	openErr error
}

// loadSaved reads the saved plan at path and the manifests it names. The
// plan is decoded (and hashed) while the manifests' heads load: both are
// work an apply does before its first call, and each takes a core. A plan
// sealed in the state at loc needs no more of its manifest; any other is
// checked against the whole manifest, loaded then from the files as they
// were read (spec.Heads), not read again. trySeal false loads the
// whole manifest always: the sandbox makes the groups it pins from it.
func (a *app) loadSaved(ctx context.Context, path, loc string, trySeal bool) (*savedPlan, error) {
	src, closeSrc, err := openPlanFile(path)
	if err != nil {
		return nil, err
	}
	defer closeSrc() // after the decode: it is waited for below
	files := planManifests(fromStart(src))
	if len(files) == 0 {
		// Not a plan as groupsync writes one: decodePlan says what is wrong.
		p, err := decodePlan(path, src)
		if err != nil {
			return nil, err
		}
		files = p.ManifestFiles
	}
	type decoded struct {
		p   *reconcile.Plan
		sum []byte // of the bytes decoded; nil when not read in one pass
		err error
	}
	done := make(chan decoded, 1)
	go func() {
		r := newSummingReader(fromStart(src))
		p, err := decodePlanFrom(path, r)
		d := decoded{p: p, err: err}
		if err == nil {
			d.sum = r.sum()
		}
		done <- d
	}()
	// Meanwhile the manifest's heads and digest, which are all a sealed
	// plan needs of it; or, when no seal is looked for, the whole of it.
	trySeal = trySeal && len(files) > 0
	var (
		read       *spec.Heads
		heads, m   *spec.Manifest
		herr, lerr error
	)
	if trySeal {
		read = spec.ReadHeads(files...)
		heads, herr = read.Manifest()
	} else {
		m, lerr = a.load(files)
	}
	d := <-done
	if d.err != nil {
		return nil, d.err
	}
	var openErr error
	if trySeal && herr == nil && heads.Digest == d.p.ManifestDigest && slices.Equal(d.p.ManifestFiles, files) {
		var store *state.Store
		if store, openErr = findSeal(ctx, loc, d.p, d.sum); store != nil {
			return &savedPlan{p: d.p, m: heads, sealed: true, store: store}, nil
		}
	}
	if trySeal { // not sealed after all: the files as they were read
		m, lerr = a.checked(finishLoad(read))
	}
	switch {
	case lerr != nil:
		return nil, lerr
	case !slices.Equal(d.p.ManifestFiles, files):
		return nil, fmt.Errorf("%s names its manifests twice, differently: it is not a plan groupsync saved; nothing was changed", path)
	}
	return &savedPlan{p: d.p, m: m, openErr: openErr}, nil
}

// findSeal opens the state at loc, without writing to it, and returns it
// when it holds the seal of plan p, of SHA-256 sum; nil otherwise (the
// state is then opened again, and its errors said, the usual way). A
// PostgreSQL state it cannot open at all is the error, said after the
// manifest's.
func findSeal(ctx context.Context, loc string, p *reconcile.Plan, sum []byte) (*state.Store, error) {
	seal, err := sealOf(sum)
	if err != nil {
		return nil, nil
	}
	store, err := state.OpenCurrent(loc)
	if err != nil {
		if state.IsPostgres(loc) && !errors.Is(err, state.ErrNotCurrent) {
			return nil, err
		}
		return nil, nil
	}
	if ok, err := store.PlanSealed(ctx, seal, p.StateSerial); err != nil || !ok {
		store.Close()
		return nil, nil
	}
	return store, nil
}

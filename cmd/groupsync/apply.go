package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

type applyFlags struct {
	common       commonFlags
	files        stringList
	autoApprove  bool
	maxNewGroups int
	lockTimeout  time.Duration
}

func (a *app) apply(ctx context.Context, args []string) error {
	fs := a.newFlagSet("apply", "apply -f PATH... [--auto-approve] | apply PLANFILE",
		"groupsync apply --sandbox -f examples/groups.yaml --auto-approve")
	var f applyFlags
	a.addCommon(fs, &f.common)
	fs.Var(&f.files, "f", "manifest `file or directory` (repeatable)")
	fs.BoolVar(&f.autoApprove, "auto-approve", false, "apply without asking")
	fs.IntVar(&f.maxNewGroups, "max-new-groups", 20, "refuse a plan that creates more than `n` groups (a lost state file must not mass-create duplicates)")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "wait this long for another apply or run to release the state file (0: fail at once)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := f.common.check(); err != nil {
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
		return errors.New("the manifest changed since the plan was saved: make a new plan")
	}
	log, err := a.logger(f.common.logFormat)
	if err != nil {
		return err
	}
	store, err := state.Open(f.common.state)
	if err != nil {
		return err
	}
	defer store.Close()
	unlock, err := store.Lock(ctx, "groupsync apply", f.lockTimeout)
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
	saved := p != nil
	if saved {
		serial, err := store.Serial(ctx)
		if err != nil {
			return err
		}
		if serial != p.StateSerial {
			return errors.New("the state changed since the plan was saved: make a new plan")
		}
	} else {
		var err error
		if p, err = makePlan(ctx, m, store, conns, f.common.parallelism, true); err != nil {
			return err
		}
		if err := a.render(a.stdout, p, "text"); err != nil {
			return err
		}
	}
	if !p.CanApply() {
		fmt.Fprintln(a.stdout, "Nothing to apply.")
		return planExit(p, false)
	}
	if err := checkSafety(p, f.maxNewGroups); err != nil {
		return err
	}
	if !f.autoApprove && !saved && !a.approved(p) {
		return errors.New("apply cancelled")
	}
	started := time.Now()
	runID, err := store.BeginRun(ctx, started, "apply")
	if err != nil {
		return err
	}
	res := a.execute(ctx, p, store, conns, log, f.common.parallelism)
	a.printResult(res)
	if err := store.EndRun(context.WithoutCancel(ctx), runRecord(runID, started, p, res)); err != nil {
		return err
	}
	if res.Failed > 0 || p.HasErrors() {
		return errReported
	}
	return nil
}

// checkSafety runs before any change: a plan that creates too many groups is
// refused, since a lost state file would otherwise duplicate every group.
func checkSafety(p *reconcile.Plan, maxNew int) error {
	if p.Summary.Create > maxNew {
		return fmt.Errorf("the plan creates %d groups, more than --max-new-groups %d; nothing was changed\nhint: if the state file was lost or replaced, restore it; if these groups are really new, raise --max-new-groups", p.Summary.Create, maxNew)
	}
	return nil
}

// approved asks on a terminal; without one it refuses, so that a script
// never applies by accident.
func (a *app) approved(p *reconcile.Plan) bool {
	if !a.terminal {
		fmt.Fprintln(a.stderr, "groupsync: apply needs --auto-approve when not run from a terminal")
		return false
	}
	fmt.Fprint(a.stdout, "\nApply these changes? Only 'yes' is accepted: ")
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func (a *app) execute(ctx context.Context, p *reconcile.Plan, store *state.Store, conns *connections, log *slog.Logger, parallelism int) *reconcile.Result {
	total := 0
	for _, g := range p.Groups {
		if g.Action == reconcile.ActionCreate || g.Action == reconcile.ActionUpdate {
			total++
		}
	}
	var done atomic.Int64
	ap := &reconcile.Applier{
		Clients:     conns.clients,
		Journal:     store,
		Parallelism: parallelism,
		OnGroup: func(r reconcile.GroupResult) {
			n := done.Add(1)
			if a.terminal {
				fmt.Fprintf(a.stderr, "\rApplying: %d/%d groups", n, total)
				return
			}
			args := []any{"group", r.Key, "groupId", r.GroupID, "created", r.Created, "added", r.Added, "notices", r.Notices, "banners", r.Banners, "done", n, "of", total}
			if r.Err != nil {
				log.Error("group failed", append(args, "error", r.Err.Error())...)
			} else {
				log.Info("group applied", args...)
			}
		},
	}
	res := ap.Apply(ctx, p)
	if a.terminal && total > 0 {
		fmt.Fprintln(a.stderr)
	}
	return res
}

func (a *app) printResult(res *reconcile.Result) {
	unknown := false
	for _, r := range res.Groups {
		switch {
		case r.Err != nil:
			fmt.Fprintf(a.stdout, "! %s: %v\n", r.Key, r.Err)
			unknown = unknown || r.Unknown
		case r.Canceled:
			fmt.Fprintf(a.stdout, "- %s: not applied (interrupted)\n", r.Key)
		}
	}
	fmt.Fprintf(a.stdout, "\nApply %s: %s created, %s added, %s, %s posted, %s recorded; %s failed.\n",
		map[bool]string{true: "interrupted", false: "complete"}[res.Canceled],
		plural(res.Created, "group"), plural(res.Added, "member"), plural(res.Notices, "notice"), plural(res.Banners, "banner"),
		plural(res.Bound, "binding"), plural(res.Failed, "group"))
	if unknown {
		fmt.Fprintln(a.stdout, "Some writes have an unknown outcome: they will not be repeated blindly. Run `groupsync plan` to see how to resolve them.")
	}
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

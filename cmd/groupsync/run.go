package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"groupsync/internal/converge"
	"groupsync/internal/metrics"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

const runSynopsis = "run -f PATH... --schedule SPEC [--listen ADDR] [--once] [--max-new-groups N] [--max-removals N] [--health-window D] [--lock-timeout D] [--lock-stale D] [--run-timeout D]"

type runFlags struct {
	common       commonFlags
	files        stringList
	schedule     string
	sched        cron.Schedule // parsed --schedule; nil with --once alone
	listen       string
	once         bool
	maxNewGroups int
	maxRemovals  int
	healthWindow time.Duration
	lockTimeout  time.Duration
	runTimeout   time.Duration
	lockStale    time.Duration
	settle       time.Duration

	// Tests set these.
	now   func() time.Time  // the health clock; nil: time.Now
	ready func(addr string) // told the address /healthz and /metrics are served on
}

func (a *app) runScheduled(ctx context.Context, args []string) error {
	f, err := a.parseRunFlags(args)
	if err != nil {
		return err
	}
	return a.runWith(ctx, f)
}

func (a *app) parseRunFlags(args []string) (*runFlags, error) {
	fs := a.newFlagSet("run", runSynopsis,
		`groupsync run -f groups/ --schedule "@every 10m" --listen :9090 --log-format json`)
	f := &runFlags{}
	a.addCommon(fs, &f.common)
	fs.Var(&f.files, "f", "manifest `file or directory` (repeatable); re-read before every run")
	fs.StringVar(&f.schedule, "schedule", "", "cron `spec`: five fields (\"*/10 * * * *\") or a descriptor (@every 10m, @hourly)")
	fs.StringVar(&f.listen, "listen", "", "serve /healthz and /metrics on this `address` (e.g. :9090)")
	fs.BoolVar(&f.once, "once", false, "make one run now and exit (exit 1 if it failed)")
	fs.IntVar(&f.maxNewGroups, "max-new-groups", 20, "refuse a run whose plan creates more than `n` groups")
	fs.IntVar(&f.maxRemovals, "max-removals", 20, "refuse a run whose plan removes more than `n` members in all (prune)")
	fs.DurationVar(&f.healthWindow, "health-window", time.Hour, "/healthz fails once runs have failed continuously for longer than this")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "wait this long for another apply or run to release the state file (0: the run fails at once)")
	addRunTimeout(fs, &f.runTimeout)
	addLockStale(fs, &f.lockStale)
	addSettle(fs, &f.settle)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	f.files = append(f.files, pos...)
	if err := f.common.check(); err != nil {
		return nil, err
	}
	switch {
	case f.schedule == "" && !f.once:
		return nil, errors.New("--schedule: missing\nhint: --schedule \"@every 10m\", --schedule \"0 * * * *\", or --once for a single run")
	case f.schedule != "":
		if f.sched, err = cron.ParseStandard(f.schedule); err != nil {
			return nil, fmt.Errorf("--schedule: %q is not a cron spec: %v\nhint: five fields (minute hour day-of-month month day-of-week, e.g. \"*/10 * * * *\") or a descriptor such as @every 10m, @hourly, @daily", f.schedule, err)
		}
	}
	if f.maxNewGroups < 0 {
		return nil, fmt.Errorf("--max-new-groups: must not be negative, got %d", f.maxNewGroups)
	}
	if f.maxRemovals < 0 {
		return nil, fmt.Errorf("--max-removals: must not be negative, got %d", f.maxRemovals)
	}
	if f.healthWindow <= 0 {
		return nil, fmt.Errorf("--health-window: must be positive, got %s", f.healthWindow)
	}
	if err := (lockFlags{f.lockTimeout, f.lockStale}).check(); err != nil {
		return nil, err
	}
	if err := checkRunTimeout(f.runTimeout); err != nil {
		return nil, err
	}
	if err := checkSettle(f.settle); err != nil {
		return nil, err
	}
	return f, nil
}

// runWith checks the manifests and obtains every provider's token once (a
// wrong path, a broken file or a provider that cannot be authenticated is an
// exit 1 at start, not a failure at the first tick), then makes a run at
// once and runs on the schedule until ctx is cancelled, or makes that one
// run with --once.
func (a *app) runWith(ctx context.Context, f *runFlags) error {
	log, err := a.logger(f.common.logFormat)
	if err != nil {
		return err
	}
	m, err := a.load(f.files)
	if err != nil {
		return err
	}
	// A PostgreSQL state first: a server that is down or refuses the
	// login is an error before anything is sent to a vendor. A state
	// file is made only once the tokens are had.
	var store *state.Store
	if state.IsPostgres(f.common.state) {
		if store, err = state.Open(f.common.location()); err != nil {
			return err
		}
		defer store.Close()
	}
	if err := a.obtainTokens(ctx, m, f, log); err != nil {
		if ctx.Err() != nil {
			// SIGTERM while a token was being had: nothing ran, nothing failed.
			log.Info("stopped before the first run")
			return nil
		}
		return err
	}
	if store == nil {
		if store, err = state.Open(f.common.location()); err != nil {
			return err
		}
		defer store.Close()
	}
	s := &scheduler{a: a, f: f, log: log, store: store, metrics: metrics.New(), health: metrics.NewHealth(f.healthWindow, f.now)}
	if f.listen != "" {
		stop, err := s.serve()
		if err != nil {
			return err
		}
		defer stop()
	}
	if f.once {
		if s.runOnce(ctx) == state.RunFailed {
			return errReported
		}
		return nil
	}
	s.loop(ctx)
	return nil
}

// scheduler makes the runs of one `groupsync run`.
type scheduler struct {
	a       *app
	f       *runFlags
	log     *slog.Logger
	store   *state.Store
	metrics *metrics.Set
	health  *metrics.Health

	seq     atomic.Int64 // runs started, for the logs
	running atomic.Bool
	mu      sync.Mutex
	since   time.Time // start of the run in progress
}

func (s *scheduler) now() time.Time {
	if s.f.now != nil {
		return s.f.now()
	}
	return time.Now()
}

// serve starts /healthz and /metrics; stop shuts them down.
func (s *scheduler) serve() (stop func(), err error) {
	ln, err := net.Listen("tcp", s.f.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", s.health)
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serving /healthz and /metrics stopped", "error", err.Error())
		}
	}()
	s.log.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	if s.f.ready != nil {
		s.f.ready(ln.Addr().String())
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// loop makes a run at once, then starts one at every tick of the schedule,
// unless the previous run is still going: that tick is skipped. When ctx is
// cancelled it waits for the run in flight, which finishes its call in
// flight and is recorded as interrupted.
func (s *scheduler) loop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	s.log.Info("scheduled mode started: first run now", "schedule", s.f.schedule, "next", s.f.sched.Next(time.Now()).Format(time.RFC3339))
	for first := true; ; first = false {
		if !first && !s.waitTick(ctx) || ctx.Err() != nil {
			if s.running.Load() {
				s.log.Info("stopping: letting the run in progress finish its call in flight")
			} else {
				s.log.Info("stopping")
			}
			return
		}
		if !s.running.CompareAndSwap(false, true) {
			s.mu.Lock()
			since := s.since
			s.mu.Unlock()
			s.log.Warn("tick skipped: the previous run is still going", "runningSince", since.Format(time.RFC3339), "next", s.f.sched.Next(time.Now()).Format(time.RFC3339))
			s.metrics.RecordRun(metrics.Run{Outcome: metrics.OutcomeSkipped})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.running.Store(false)
			s.runOnce(ctx)
		}()
	}
}

// waitTick waits for the schedule's next tick; false when ctx ended first.
func (s *scheduler) waitTick(ctx context.Context) bool {
	t := time.NewTimer(time.Until(s.f.sched.Next(time.Now())))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// runOnce makes one run within --run-timeout, logs it and counts it; it
// returns its outcome. While it is past its deadline (a call that ignores
// its context), /healthz says so.
func (s *scheduler) runOnce(ctx context.Context) state.Outcome {
	started := time.Now()
	s.mu.Lock()
	s.since = started
	s.mu.Unlock()
	log := s.log.With("run", s.seq.Add(1))
	log.Info("run started", "deadline", started.Add(s.f.runTimeout).Format(time.RFC3339))
	at := s.now()
	s.health.RunStarted(at, at.Add(s.f.runTimeout))
	defer s.health.RunEnded()
	runCtx, cancel := context.WithTimeout(ctx, s.f.runTimeout)
	defer cancel()
	rep := s.attempt(runCtx, log)
	if err := deadlineError(runCtx, "the run", s.f.runTimeout, rep.Err); err != nil && rep.Outcome != state.RunFailed {
		// Stopped by its deadline before converge could say so (the lock wait).
		rep.Outcome, rep.Err = state.RunFailed, err
	}
	s.report(log, started, rep)
	return rep.Outcome
}

// attempt re-reads the manifests, takes the state lock for the run, and
// plans and applies within the safety limits. An invalid manifest skips the
// run: no vendor call, no state write.
func (s *scheduler) attempt(ctx context.Context, log *slog.Logger) runReport {
	m, err := spec.Load(s.f.files...)
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			msgs := make([]string, len(list))
			for i, e := range list {
				msgs[i] = e.Error()
			}
			log.Error("manifest invalid: run skipped; nothing was called or written", "errors", msgs)
			err = fmt.Errorf("manifest invalid: %s", plural(len(list), "error"))
		}
		return runReport{Outcome: state.RunFailed, Err: err}
	}
	unlock, err := s.a.lock(ctx, s.store, "groupsync run", &s.f.common, lockFlags{s.f.lockTimeout, s.f.lockStale}, log)
	if err != nil {
		return runReport{Outcome: converge.OutcomeOf(ctx, nil, nil, err), Err: err}
	}
	defer func() {
		if err := unlock(); err != nil {
			log.Warn("release the state lock", "error", err.Error())
		}
	}()
	conns, err := s.a.connect(m, &s.f.common, log, s.metrics.ObserveCall)
	if err != nil {
		return runReport{Outcome: state.RunFailed, Err: err}
	}
	rep := s.a.converge(ctx, m, s.store, conns, log, convergeOpts{
		trigger:      "schedule",
		recordAlways: true,
		autoApprove:  true,
		maxNewGroups: s.f.maxNewGroups,
		maxRemovals:  s.f.maxRemovals,
		parallelism:  s.f.common.parallelism,
		runTimeout:   s.f.runTimeout,
		settle:       s.f.settle,
		out:          io.Discard,
	}, nil)
	if err := conns.close(); err != nil {
		log.Error("close vendor connections", "error", err.Error())
	}
	return rep
}

// report logs what a run did, blocked groups and drift included (the plan
// is not printed in scheduled mode), and feeds the metrics and the health.
func (s *scheduler) report(log *slog.Logger, started time.Time, rep runReport) {
	args := []any{"outcome", rep.Outcome, "duration", time.Since(started).Round(time.Millisecond).String()}
	var reasons []string
	if p := rep.Plan; p != nil {
		for _, e := range p.ProviderErrors {
			log.Error("provider unavailable: its groups are blocked", "provider", e.Provider, "error", e.Message, "fix", e.Fix)
		}
		for _, g := range p.Groups {
			for _, e := range g.Errors {
				if e.Kind == reconcile.IssueProvider {
					continue // said once, above
				}
				log.Error("group blocked", "group", g.Key, "kind", string(e.Kind), "error", e.Message, "fix", e.Fix)
			}
			for _, d := range g.Drift {
				log.Warn("drift to fix by hand", "group", g.Key, "kind", string(d.Kind), "fix", d.Fix)
			}
		}
		args = append(args, "drift", p.Summary.Drift, "blocked", p.Summary.Errors)
		if p.Summary.Errors > 0 {
			reasons = append(reasons, plural(p.Summary.Errors, "group")+" blocked"+firstIssue(p))
		}
	}
	run := metrics.Run{Outcome: rep.Outcome, Ended: time.Now(), Planned: rep.Plan != nil}
	if rep.Plan != nil {
		run.Drift = rep.Plan.Summary.Drift
	}
	if r := rep.Result; r != nil {
		run.Created, run.Added, run.Removed, run.Notices, run.Banners = r.Created, r.Added, r.Removed, r.Notices, r.Banners
		args = append(args, "created", r.Created, "added", r.Added, "notices", r.Notices, "banners", r.Banners, "failed", r.Failed)
		if r.Removed > 0 {
			args = append(args, "removed", r.Removed)
		}
		if r.Renamed > 0 || r.OwnerSet > 0 {
			args = append(args, "renamed", r.Renamed, "ownersChanged", r.OwnerSet)
		}
		if r.Failed > 0 {
			reasons = append(reasons, plural(r.Failed, "group")+" failed"+firstFailure(r))
		}
	}
	if rep.Err != nil && !errors.Is(rep.Err, errReported) {
		reasons = append(reasons, rep.Err.Error())
	}
	reason := strings.Join(reasons, "; ")
	switch rep.Outcome {
	case state.RunOK:
		log.Info("run finished", args...)
	case state.RunInterrupted:
		log.Warn("run interrupted", args...)
	default:
		log.Error("run failed", append(args, "error", reason)...)
	}
	s.metrics.RecordRun(run)
	s.health.Record(rep.Outcome, s.now(), reason)
}

// firstIssue and firstFailure name one cause, for the health reason.
func firstIssue(p *reconcile.Plan) string {
	for _, e := range p.ProviderErrors {
		return fmt.Sprintf(" (%s)", e.Message)
	}
	for _, g := range p.Groups {
		if len(g.Errors) > 0 {
			return fmt.Sprintf(" (%s: %s)", g.Key, g.Errors[0].Message)
		}
	}
	return ""
}

func firstFailure(r *reconcile.Result) string {
	for _, g := range r.Groups {
		if g.Err != nil {
			return fmt.Sprintf(" (%v)", g.Err)
		}
	}
	return ""
}

// obtainTokens gets every provider's access token once, before anything is
// scheduled, so that a provider that cannot be authenticated (an unset
// variable, a failing tokenCommand, refused credentials) stops the command
// at start with one error per provider, rather than failing every run. It
// is bounded by --run-timeout. The sandbox's tokens are fixed.
func (a *app) obtainTokens(ctx context.Context, m *spec.Manifest, f *runFlags, log *slog.Logger) error {
	if f.common.sandbox {
		return nil
	}
	names := make([]string, 0, len(m.Providers))
	for name := range m.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	failed := map[string]error{}
	// Each provider's token variables first, then the tokens of those whose
	// variables are set: one error per provider either way.
	set := &spec.Manifest{Providers: map[string]*spec.Provider{}}
	for _, name := range names {
		one := &spec.Manifest{Providers: map[string]*spec.Provider{name: m.Providers[name]}}
		if err := a.checkTokens(one, &f.common); err != nil {
			failed[name] = err
			continue
		}
		set.Providers[name] = m.Providers[name]
	}
	if len(set.Providers) > 0 {
		conns, err := a.connect(set, &f.common, log, nil)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, f.runTimeout)
		for _, name := range names {
			if set.Providers[name] == nil {
				continue
			}
			if _, err := conns.tokens[name].Token(ctx); err != nil {
				if !strings.Contains(err.Error(), "provider "+name) {
					err = fmt.Errorf("provider %s: %w", name, err)
				}
				failed[name] = err
			}
		}
		cancel()
		_ = conns.close() // no sandbox here: nothing to save
	}
	if len(failed) > 0 {
		errs := make([]error, 0, len(failed))
		for _, name := range names {
			if failed[name] != nil {
				errs = append(errs, failed[name])
			}
		}
		who := "a provider"
		if len(errs) > 1 {
			who = fmt.Sprintf("%d providers", len(errs))
		}
		return fmt.Errorf("cannot start: %s could not be authenticated; nothing was scheduled\n%w", who, errors.Join(errs...))
	}
	log.Info("every provider's token obtained", "providers", len(names))
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"groupsync/internal/metrics"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

const runSynopsis = "run -f PATH... --schedule SPEC [--listen ADDR] [--once] [--max-new-groups N] [--health-window D] [--lock-timeout D]"

type runFlags struct {
	common       commonFlags
	files        stringList
	schedule     string
	sched        cron.Schedule // parsed --schedule; nil with --once alone
	listen       string
	once         bool
	maxNewGroups int
	healthWindow time.Duration
	lockTimeout  time.Duration
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
	fs.DurationVar(&f.healthWindow, "health-window", time.Hour, "/healthz fails once runs have failed continuously for longer than this")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", 0, "wait this long for another apply or run to release the state file (0: the run fails at once)")
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
	if f.healthWindow <= 0 {
		return nil, fmt.Errorf("--health-window: must be positive, got %s", f.healthWindow)
	}
	if f.lockTimeout < 0 {
		return nil, fmt.Errorf("--lock-timeout: must not be negative, got %s", f.lockTimeout)
	}
	if err := checkSettle(f.settle); err != nil {
		return nil, err
	}
	return f, nil
}

// runWith checks the manifest once (a wrong path or a broken file is an
// error at start, not at the first tick), then runs on the schedule until
// ctx is cancelled, or once.
func (a *app) runWith(ctx context.Context, f *runFlags) error {
	log, err := a.logger(f.common.logFormat)
	if err != nil {
		return err
	}
	if _, err := a.load(f.files); err != nil {
		return err
	}
	store, err := state.Open(f.common.state)
	if err != nil {
		return err
	}
	defer store.Close()
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

// loop starts a run at every tick of the schedule, unless the previous run
// is still going: that tick is skipped. When ctx is cancelled it waits for
// the run in flight, which finishes its call in flight and is recorded as
// interrupted.
func (s *scheduler) loop(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	s.log.Info("scheduled mode started", "schedule", s.f.schedule, "next", s.f.sched.Next(time.Now()).Format(time.RFC3339))
	for {
		next := s.f.sched.Next(time.Now())
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			if s.running.Load() {
				s.log.Info("stopping: letting the run in progress finish its call in flight")
			} else {
				s.log.Info("stopping")
			}
			return
		case <-t.C:
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

// runOnce makes one run, logs it and counts it; it returns its outcome.
func (s *scheduler) runOnce(ctx context.Context) string {
	started := time.Now()
	s.mu.Lock()
	s.since = started
	s.mu.Unlock()
	log := s.log.With("run", s.seq.Add(1))
	log.Info("run started")
	rep := s.attempt(ctx, log)
	s.report(log, started, rep)
	return rep.outcome
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
		return runReport{outcome: state.RunFailed, err: err}
	}
	unlock, err := s.store.Lock(ctx, "groupsync run", s.f.lockTimeout)
	if err != nil {
		return runReport{outcome: outcomeOf(ctx, runReport{err: err}), err: err}
	}
	defer func() {
		if err := unlock(); err != nil {
			log.Warn("release the state lock", "error", err.Error())
		}
	}()
	conns, err := s.a.connect(m, &s.f.common, log, s.metrics.ObserveCall)
	if err != nil {
		return runReport{outcome: state.RunFailed, err: err}
	}
	rep := s.a.converge(ctx, m, s.store, conns, log, convergeOpts{
		trigger:      "schedule",
		recordAlways: true,
		autoApprove:  true,
		maxNewGroups: s.f.maxNewGroups,
		parallelism:  s.f.common.parallelism,
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
	args := []any{"outcome", rep.outcome, "duration", time.Since(started).Round(time.Millisecond).String()}
	var reasons []string
	if p := rep.plan; p != nil {
		for _, g := range p.Groups {
			for _, e := range g.Errors {
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
	run := metrics.Run{Outcome: rep.outcome, Ended: time.Now(), Planned: rep.plan != nil}
	if rep.plan != nil {
		run.Drift = rep.plan.Summary.Drift
	}
	if r := rep.result; r != nil {
		run.Created, run.Added, run.Notices, run.Banners = r.Created, r.Added, r.Notices, r.Banners
		args = append(args, "created", r.Created, "added", r.Added, "notices", r.Notices, "banners", r.Banners, "failed", r.Failed)
		if r.Failed > 0 {
			reasons = append(reasons, plural(r.Failed, "group")+" failed"+firstFailure(r))
		}
	}
	if rep.err != nil && !errors.Is(rep.err, errReported) {
		reasons = append(reasons, rep.err.Error())
	}
	reason := strings.Join(reasons, "; ")
	switch rep.outcome {
	case state.RunOK:
		log.Info("run finished", args...)
	case state.RunInterrupted:
		log.Warn("run interrupted", args...)
	default:
		log.Error("run failed", append(args, "error", reason)...)
	}
	s.metrics.RecordRun(run)
	s.health.Record(rep.outcome, s.now(), reason)
}

// firstIssue and firstFailure name one cause, for the health reason.
func firstIssue(p *reconcile.Plan) string {
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

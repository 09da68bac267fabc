package scale

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"groupsync/internal/reconcile"
)

// Result is what one timed run of a scenario did.
type Result struct {
	Scenario Scenario
	Cached   bool // a plan from the state's cache, no network, no apply
	Calls    Calls
	MinCalls Calls
	Plan     time.Duration // ObserveEach + Builder + ReadSaver (or EachRead + CacheMatcher + Builder when cached)
	Apply    time.Duration
	PeakRSS  int64 // bytes, groupsync's (this process's) high-water mark since the run started; 0 when unknown
	SimRSS   int64 // bytes, the simulator process's high-water mark since the run started; 0 when unknown
	Summary  reconcile.Summary
	Postgres bool  // the state was in PostgreSQL
	StateMB  int64 // the SQLite state file's size after the run, in MB (rounded up); 0 for PostgreSQL
}

// Wall is the time the plan and the apply took.
func (r Result) Wall() time.Duration { return r.Plan + r.Apply }

// Bound is the lower bound the calls set on the wall time: each takes the
// latency and at most Parallelism run at once, and the rate limit admits
// Rate a second.
func (r Result) Bound() time.Duration {
	n := float64(r.Calls.Total())
	b := n * r.Scenario.Latency.Seconds() / float64(max(1, r.Scenario.Parallelism))
	if r.Scenario.Rate > 0 {
		b = max(b, n/r.Scenario.Rate)
	}
	return time.Duration(b * float64(time.Second))
}

// Ratio is Wall over Bound; 0 when there is no bound (no calls).
func (r Result) Ratio() float64 {
	if r.Bound() <= 0 {
		return 0
	}
	return r.Wall().Seconds() / r.Bound().Seconds()
}

// String is the benchmark's line for the run.
func (r Result) String() string {
	ratio := "n/a"
	if r.Bound() > 0 {
		ratio = fmt.Sprintf("%.2f", r.Ratio())
	}
	sc := r.Scenario
	if r.Cached {
		sc.Latency, sc.Rate = 0, 0
	}
	st := fmt.Sprintf("state_file=%dMB", r.StateMB)
	if r.Postgres {
		st = "state=postgres"
	}
	return fmt.Sprintf("%s calls=%d min_calls=%d wall=%.2fs bound=%.2fs ratio=%s peak_rss=%dMB sim_rss=%dMB %s",
		sc, r.Calls.Total(), r.MinCalls.Total(), r.Wall().Seconds(), r.Bound().Seconds(), ratio, r.PeakRSS>>20, r.SimRSS>>20, st)
}

// Run times a plan (live reads) and the apply of that plan on w, whose
// simulators take the scenario's latency from now on.
func (w *World) Run(ctx context.Context) (Result, error) {
	r := Result{Scenario: w.Scenario, MinCalls: w.Scenario.MinCalls()}
	w.Start(w.Scenario.Latency)
	resetPeakRSS()
	start := time.Now()
	p, err := w.Plan(ctx, true)
	if err != nil {
		return r, err
	}
	r.Plan = time.Since(start)
	start = time.Now()
	res, err := w.Apply(ctx, p)
	r.Apply = time.Since(start)
	if err != nil {
		return r, err
	}
	r.PeakRSS = peakRSS()
	r.Calls, r.Summary = w.Calls(), p.Summary
	r.SimRSS = w.simRSS
	if err := w.noteState(ctx, &r); err != nil {
		return r, err
	}
	switch {
	case w.Err() != nil:
		return r, w.Err()
	case p.Summary.Errors > 0:
		return r, fmt.Errorf("%s: the plan has %d errors", w.Scenario, p.Summary.Errors)
	case res != nil && res.Failed > 0:
		return r, fmt.Errorf("%s: %d groups failed to apply", w.Scenario, res.Failed)
	}
	return r, nil
}

// RunCached times a plan from the state's cached reads (plan
// --refresh=false). The cache is filled first by a live plan, untimed and
// with no latency.
func (w *World) RunCached(ctx context.Context) (Result, error) {
	r := Result{Scenario: w.Scenario, Cached: true}
	w.Start(0)
	if _, err := w.Plan(ctx, true); err != nil {
		return r, err
	}
	w.Start(0)
	resetPeakRSS()
	start := time.Now()
	p, err := w.Plan(ctx, false)
	if err != nil {
		return r, err
	}
	r.Plan = time.Since(start)
	r.PeakRSS = peakRSS()
	r.Calls, r.Summary = w.Calls(), p.Summary
	r.SimRSS = w.simRSS
	if err := w.noteState(ctx, &r); err != nil {
		return r, err
	}
	if w.Err() != nil {
		return r, w.Err()
	}
	if p.Summary.Errors > 0 {
		return r, fmt.Errorf("%s: the cached plan has %d errors", w.Scenario, p.Summary.Errors)
	}
	return r, nil
}

// noteState records where the state was and the state file's size.
func (w *World) noteState(ctx context.Context, r *Result) error {
	r.Postgres = w.Store.Postgres()
	size, err := w.Store.FileSize(ctx)
	r.StateMB = (size + 1<<20 - 1) >> 20
	return err
}

// resetPeakRSS returns freed memory to the system and resets the
// process's peak RSS (Linux: clear_refs 5), so that the next peakRSS is
// the peak of what follows, what the process already holds included.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS is VmHWM of /proc/self/status in bytes, or 0 when unknown.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

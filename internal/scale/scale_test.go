package scale

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"groupsync/internal/spec"
	"groupsync/internal/state/pgtest"
)

// drifted is a scenario of g groups x m members with the benchmark's
// drift: a tenth of the groups on Lunkr, a tenth missing, a tenth of the
// existing Yunzhijia groups lacking a tenth of their members, a twentieth
// with a new notice, a tenth pruned (half of those holding extra members).
func drifted(g, m int, latency time.Duration, parallelism int, rate float64) Scenario {
	return Scenario{
		Groups: g, Members: m, LunkrEvery: 10, WeComEvery: 10,
		MissingGroups: 0.1, MissingMembers: 0.01, NewNotices: 0.05, Pruned: 0.1,
		Latency: latency, Parallelism: parallelism, Rate: rate,
	}
}

// TestSmoke runs the quick scenario as `make test` does: the calls made
// are the minimum, and the apply converges. Nothing here is timed.
func TestSmoke(t *testing.T) {
	ctx := context.Background()
	sc := drifted(200, 20, time.Millisecond, 32, 0) // 200: the WeCom tenth has a create and updates
	w, err := NewWorld(ctx, t.TempDir(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := w.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	want := sc.MinCalls()
	if r.Calls != want {
		t.Errorf("calls = %+v, want the minimum %+v", r.Calls, want)
	}
	if want.Creates == 0 || want.Adds == 0 || want.Removes == 0 || want.Posts == 0 {
		t.Errorf("the scenario has no drift of some kind: %+v", want)
	}
	wecomCreates, wecomUpdates := 0, 0
	for i := range sc.Groups {
		switch {
		case !sc.onWeCom(i):
		case sc.missing(i):
			wecomCreates++
		case sc.lacking(i) > 0 || sc.extras(i) > 0:
			wecomUpdates++
		}
	}
	if wecomCreates == 0 || wecomUpdates == 0 {
		t.Errorf("the WeCom tenth has %d creates and %d updates: want some of each", wecomCreates, wecomUpdates)
	}

	// A second plan reads every group once and finds nothing to do.
	w.Start(0)
	p, err := w.Plan(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.CanApply() || p.HasDrift() {
		t.Errorf("plan after apply: %+v, want nothing to do", p.Summary)
	}
	if got := w.Calls(); got != (Calls{Reads: sc.Groups}) {
		t.Errorf("calls of the second plan = %+v, want %d reads", got, sc.Groups)
	}

	// A cached plan makes no call and agrees.
	c, err := w.RunCached(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls.Total() != 0 || c.Summary != p.Summary {
		t.Errorf("cached plan: %d calls, %+v; want none and %+v", c.Calls.Total(), c.Summary, p.Summary)
	}
}

// TestManifestIsValid checks that the directly built manifest is what
// spec.Load makes of the same scenario written as YAML.
func TestManifestIsValid(t *testing.T) {
	sc := Scenario{Groups: 40, Members: 6, LunkrEvery: 3, WeComEvery: 4, MissingGroups: 0.2, MissingMembers: 0.05, NewNotices: 0.3, Pruned: 0.3}
	const yzjURL, lunkrURL, wecomURL = "http://127.0.0.1:8081/", "http://127.0.0.1:8082/", "http://127.0.0.1:8083/"
	path := filepath.Join(t.TempDir(), "groups.yaml")
	if err := os.WriteFile(path, sc.YAML(yzjURL, lunkrURL, wecomURL), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	built := sc.Manifest(yzjURL, lunkrURL, wecomURL)
	opts := cmp.Options{
		cmpopts.IgnoreFields(spec.Manifest{}, "Files", "Digest"),
		cmpopts.IgnoreTypes(spec.Pos{}),
		cmpopts.EquateEmpty(),
	}
	if diff := cmp.Diff(loaded, built, opts); diff != "" {
		t.Errorf("built manifest differs from the loaded one (-loaded +built):\n%s", diff)
	}
}

// TestMinCalls pins the minimum of a scenario to hand-counted numbers.
func TestMinCalls(t *testing.T) {
	sc := Scenario{Groups: 10, Members: 20, LunkrEvery: 5, MissingGroups: 0, MissingMembers: 0.1, NewNotices: 1}
	// Groups 4 and 9 are on Lunkr: 10 reads; every Yunzhijia group lacks
	// members and has a new notice: 8 adds, 8 posts.
	if got, want := sc.MinCalls(), (Calls{Reads: 10, Adds: 8, Posts: 8}); got != want {
		t.Errorf("MinCalls = %+v, want %+v", got, want)
	}
	sc.Pruned = 1
	// Every Yunzhijia group prunes; half of them (by the hash) hold extras.
	if got := sc.MinCalls().Removes; got != 4 {
		t.Errorf("MinCalls().Removes = %d, want 4", got)
	}
	sc.MissingGroups, sc.NewNotices = 1, 0
	// Every group is created; each Yunzhijia one posts its welcome.
	if got, want := sc.MinCalls(), (Calls{Creates: 10, Posts: 8}); got != want {
		t.Errorf("MinCalls = %+v, want %+v", got, want)
	}
}

// printed holds, by benchmark name, the result whose line was printed: a
// benchmark function may run several times while the framework settles
// b.N, and the metrics it reports are those of the printed run, never of a
// later one.
var printed sync.Map

func report(b *testing.B, r Result) {
	if first, dup := printed.LoadOrStore(b.Name(), r); dup {
		r = first.(Result)
	} else {
		fmt.Println(r)
	}
	b.ReportMetric(float64(r.Calls.Total()), "calls")
	b.ReportMetric(float64(r.MinCalls.Total()), "min_calls")
	b.ReportMetric(r.Ratio(), "ratio")
	b.ReportMetric(r.Plan.Seconds(), "plan-s")
	b.ReportMetric(r.Apply.Seconds(), "apply-s")
	b.ReportMetric(float64(r.PeakRSS>>20), "peak-MB")
	if r.Calls != r.MinCalls {
		b.Errorf("calls = %+v, want the minimum %+v", r.Calls, r.MinCalls)
	}
}

// BenchmarkScale runs the scenarios of SPEC section 6 and prints one line
// each. Setting up a world is not timed.
func BenchmarkScale(b *testing.B) {
	const latency, parallelism = 20 * time.Millisecond, 32
	for _, size := range [][2]int{{100, 20}, {1000, 200}, {10000, 200}} {
		for _, rate := range []float64{0, 200} {
			sc := drifted(size[0], size[1], latency, parallelism, rate)
			b.Run(fmt.Sprintf("%dx%d/rate=%s", size[0], size[1], strings.TrimSuffix(sc.rateLabel(), "/s")), func(b *testing.B) {
				var r Result
				for range b.N {
					r = runOnce(b, sc, (*World).Run)
				}
				report(b, r)
			})
		}
	}
	sc := drifted(10000, 200, 0, parallelism, 0)
	b.Run("10000x200/cached", func(b *testing.B) {
		var r Result
		for range b.N {
			r = runOnce(b, sc, (*World).RunCached)
		}
		report(b, r)
	})
	// The same plans with the state in PostgreSQL (GROUPSYNC_TEST_POSTGRES;
	// skipped without it).
	b.Run("10000x200/cached/postgres", func(b *testing.B) {
		var r Result
		for range b.N {
			r = runOnceAt(b, sc, (*World).RunCached, pgtest.Location(b))
		}
		report(b, r)
	})
	live := drifted(10000, 200, latency, parallelism, 0)
	b.Run("10000x200/rate=unlimited/postgres", func(b *testing.B) {
		var r Result
		for range b.N {
			r = runOnceAt(b, live, (*World).Run, pgtest.Location(b))
		}
		report(b, r)
	})
}

func runOnce(b *testing.B, sc Scenario, run func(*World, context.Context) (Result, error)) Result {
	return runOnceAt(b, sc, run, "")
}

// runOnceAt is runOnce with the state at loc ("": a file of its own).
func runOnceAt(b *testing.B, sc Scenario, run func(*World, context.Context) (Result, error), loc string) Result {
	b.StopTimer()
	ctx := context.Background()
	dir, err := os.MkdirTemp(b.TempDir(), "run")
	if err != nil {
		b.Fatal(err)
	}
	if loc == "" {
		loc = filepath.Join(dir, "groupsync.db")
	}
	w, err := NewWorldAt(ctx, dir, sc, loc)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.StartTimer()
	r, err := run(w, ctx)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

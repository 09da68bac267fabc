package scale

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestCLISmoke runs the whole-command benchmark at a smoke size, as `make
// test` does, so that it cannot rot: every step of the real binary makes
// exactly its minimum of calls. Nothing here is timed.
func TestCLISmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the groupsync binary")
	}
	dir := t.TempDir()
	bin, err := BuildCLI(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Enough groups to span two manifest files.
	sc := drifted(groupsPerFile+60, 12, time.Millisecond, 32, 0)
	for _, unsealed := range []bool{false, true} {
		rs, err := RunCLI(context.Background(), bin, t.TempDir(), sc, unsealed)
		for _, r := range rs {
			t.Log(r)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 4 {
			t.Fatalf("got %d steps, want 4", len(rs))
		}
		for _, r := range rs {
			if r.PeakRSS <= 0 || r.Wall <= 0 {
				t.Errorf("%s: peak_rss %d, wall %s: want both measured", r.Step, r.PeakRSS, r.Wall)
			}
		}
	}
}

// BenchmarkCLI runs the whole-command benchmark: the groupsync binary
// against the simulators in their own process, at 10,000 groups x 200
// members (50,000 x 200 with GROUPSYNC_BENCH_LARGE=1, `make bench-large`),
// and prints one line per step. Each scenario runs once whatever b.N: the
// line printed and the metrics reported are the same run's. With
// GROUPSYNC_BENCH_UNSEALED=1 the apply is of a plan file that is not
// sealed (StepApplyUnsealed), which is checked against the whole manifest.
func BenchmarkCLI(b *testing.B) {
	const latency, parallelism = 20 * time.Millisecond, 32
	groups := 10000
	if os.Getenv("GROUPSYNC_BENCH_LARGE") != "" {
		groups = 50000
	}
	unsealed := os.Getenv("GROUPSYNC_BENCH_UNSEALED") != ""
	bin, err := BuildCLI(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	sc := drifted(groups, 200, latency, parallelism, 0)
	b.Run(fmt.Sprintf("%dx%d", sc.Groups, sc.Members), func(b *testing.B) {
		v, done := printed.Load(b.Name())
		if !done {
			rs, err := RunCLI(context.Background(), bin, b.TempDir(), sc, unsealed)
			for _, r := range rs {
				fmt.Println(r)
			}
			if err != nil {
				b.Fatal(err)
			}
			printed.Store(b.Name(), rs)
			v = rs
		}
		for _, r := range v.([]StepResult) {
			b.ReportMetric(r.Wall.Seconds(), r.Step+"-s")
			b.ReportMetric(float64(r.PeakRSS>>20), r.Step+"-peak-MB")
			if r.Bound() > 0 {
				b.ReportMetric(r.Ratio(), r.Step+"-ratio")
			}
		}
	})
}

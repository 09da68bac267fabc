package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// run refuses to start, before anything is scheduled, when a provider
// cannot be authenticated: one error per provider (unset variables and a
// failing tokenCommand alike), exit 1, no state file, no vendor call.
func TestRunUnauthenticatedProviderExitsAtStart(t *testing.T) {
	e := newSchedEnv(t, 1)
	lk := lunkr.NewSimulator("lk-token")
	lkSrv := httptest.NewServer(lk)
	t.Cleanup(lkSrv.Close)
	e.write(fmt.Sprintf(`version: 1
providers:
  kd:
    vendor: yunzhijia
    endpoint: %s/
    token: ${YZJ_UNSET}
    operator: %s
  lk:
    vendor: lunkr
    endpoint: %s/
    token: ${LK_UNSET}
  lkcmd:
    vendor: lunkr
    endpoint: %s/
    tokenCommand: [sh, -c, "exit 3"]
groups:
  - {key: g1, provider: kd, name: Group 1, members: [%s]}
  - {key: g2, provider: lkcmd, name: Group 2, members: [a@example.com]}
`, e.srv.URL, schedOperator, lkSrv.URL, lkSrv.URL, schedMember))
	for _, args := range [][]string{e.args("--schedule", "@hourly", "--listen", "127.0.0.1:0"), e.args("--once")} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			e.stderr.mu.Lock()
			e.stderr.b.Reset()
			e.stderr.mu.Unlock()
			wait := e.start(context.Background(), func(ctx context.Context) int { return e.a.run(ctx, args) })
			if code := wait(); code != exitError {
				t.Fatalf("exit %d, want 1\n%s", code, e.stderr)
			}
			got := e.stderr.String()
			for _, want := range []string{
				"cannot start: 3 providers could not be authenticated; nothing was scheduled",
				"provider kd: environment variable YZJ_UNSET is not set",
				"provider lk: environment variable LK_UNSET is not set",
				"provider lkcmd: no access token: tokenCommand sh exited with status 3",
			} {
				if strings.Count(got, want) != 1 {
					t.Errorf("stderr does not say once %q:\n%s", want, got)
				}
			}
			if strings.Contains(got, "serving /healthz") || strings.Contains(got, "scheduled mode started") {
				t.Errorf("something was scheduled or served:\n%s", got)
			}
		})
	}
	if _, err := os.Stat(e.state); err == nil {
		t.Error("the state file was created")
	}
	if n := len(e.sim.Calls()) + len(lk.Calls()); n != 0 {
		t.Errorf("vendor calls made: %v %v", e.sim.Calls(), lk.Calls())
	}
}

// A vendor that never answers a create: the run fails at its --run-timeout
// (not after the client's 30 s timeout), says so, and records the create as
// of unknown outcome: never sent again blindly.
func TestRunNeverAnsweringFailsAtDeadline(t *testing.T) {
	e := newSchedEnv(t, 1)
	e.sim.SetFaults(yunzhijia.Faults{Latency: time.Hour, Calls: []string{yunzhijia.CallCreateGroup}})
	start := time.Now()
	code := e.a.run(context.Background(), e.args("--once", "--run-timeout", "300ms"))
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %s with --run-timeout 300ms", took)
	}
	if code != exitError {
		t.Fatalf("exit %d, want 1\n%s", code, e.stderr)
	}
	got := e.stderr.String()
	for _, want := range []string{"the run passed its deadline (--run-timeout 300ms)", "g1: create: yunzhijia createGroup: outcome unknown"} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr does not say %q:\n%s", want, got)
		}
	}
	runs := e.runs()
	if len(runs) != 1 || runs[0].Outcome != state.RunFailed || !strings.Contains(runs[0].Message, "--run-timeout 300ms") {
		t.Errorf("runs = %+v, want one failed run that names the deadline", runs)
	}
	store, err := state.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if in, err := store.OpenIntents(context.Background()); err != nil || len(in) != 1 {
		t.Errorf("open intents = %+v, %v; want the create of unknown outcome", in, err)
	}
}

// A run stuck on a read that never answers: /healthz turns 503 once the run
// is past its --run-timeout (an injected clock), and SIGTERM (a cancelled
// ctx) stops the command promptly with no goroutine left running.
func TestRunPastDeadlineUnhealthyThenStopsCleanly(t *testing.T) {
	e := newSchedEnv(t, 1)
	if code := e.a.run(context.Background(), e.args("--once")); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, e.stderr)
	}
	before := goroutines()
	e.sim.SetFaults(yunzhijia.Faults{Latency: time.Hour, Calls: []string{yunzhijia.CallGroupUsers}})
	var clock atomic.Int64
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := e.runWithSchedule(ctx, 20*time.Millisecond, now, "--run-timeout", "1h")
	schedWait(t, "the read to hang", 10*time.Second, func() bool { return e.sim.Calls()[yunzhijia.CallGroupUsers] >= 1 })
	if code, body := healthz(t, addr); code != http.StatusOK {
		t.Fatalf("within the deadline: %d %q", code, body)
	}
	clock.Store(t0.Add(61 * time.Minute).UnixNano())
	code, body := healthz(t, addr)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "started at 2026-05-01T08:00:00Z is still going, 1m0s past its deadline 2026-05-01T09:00:00Z") {
		t.Fatalf("past the deadline: %d %q", code, body)
	}
	stopped := time.Now()
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	if took := time.Since(stopped); took > 10*time.Second {
		t.Errorf("stopping took %s", took)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	noGoroutinesLeft(t, before, 10*time.Second)
}

// goroutines returns the ids of the goroutines running now.
func goroutines() map[string]bool {
	ids := map[string]bool{}
	for _, g := range goroutineStacks() {
		ids[g.id] = true
	}
	return ids
}

type goroutineStack struct{ id, stack string }

func goroutineStacks() []goroutineStack {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []goroutineStack
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, " [")
		out = append(out, goroutineStack{strings.TrimPrefix(head, "goroutine "), g})
	}
	return out
}

// noGoroutinesLeft waits until no goroutine started since before is left,
// except the caller's, and fails with their stacks when some outlive the
// timeout (goleak's check, without the dependency).
func noGoroutinesLeft(t *testing.T, before map[string]bool, timeout time.Duration) {
	t.Helper()
	self := goroutineStacks()[0].id // runtime.Stack lists the caller first
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		for _, g := range goroutineStacks() {
			if !before[g.id] && g.id != self {
				left = append(left, g.stack)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left running:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Runs that made calls leave no goroutine behind once the command stops:
// the vendor clients' idle connections are closed after every run.
func TestRunLeavesNoGoroutines(t *testing.T) {
	e := newSchedEnv(t, 2)
	before := goroutines()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := e.runWithSchedule(ctx, 20*time.Millisecond, nil)
	schedWait(t, "two successful runs", 10*time.Second, func() bool {
		fams, _ := scrapeMetrics(t, addr)
		n, _ := series(fams, "groupsync_runs_total", "outcome", "ok")
		return n >= 2
	})
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	noGoroutinesLeft(t, before, 10*time.Second)
}

// The first run is made at start, not at the schedule's first tick (an
// hour away here).
func TestRunFirstRunAtStart(t *testing.T) {
	e := newSchedEnv(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := e.start(ctx, func(ctx context.Context) int {
		return e.a.run(ctx, e.args("--schedule", "@hourly", "--log-format", "json"))
	})
	schedWait(t, "the first run", 10*time.Second, func() bool {
		return strings.Contains(e.stderr.String(), `"msg":"run finished"`)
	})
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	if runs := e.runs(); len(runs) != 1 || runs[0].Outcome != state.RunOK || runs[0].Created != 1 {
		t.Errorf("runs = %+v, want the one run made at start", runs)
	}
}

// plan and apply share --run-timeout: a vendor that never answers ends
// them at the deadline with exit 1 and a message that names the flag.
func TestPlanApplyRunTimeout(t *testing.T) {
	e := newSchedEnv(t, 1)
	if code := e.a.run(context.Background(), e.args("--once")); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, e.stderr)
	}
	e.writeManifest(2) // g2 to create
	e.sim.SetFaults(yunzhijia.Faults{Latency: time.Hour, Calls: []string{yunzhijia.CallCreateGroup}})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"apply", "-f", e.manifest, "--state", e.state, "--auto-approve", "--run-timeout", "300ms"},
			[]string{"groupsync: the apply passed its deadline (--run-timeout 300ms)", "g2: create: yunzhijia createGroup: outcome unknown"}},
		{[]string{"plan", "-f", e.manifest, "--state", e.state, "--run-timeout", "300ms"},
			[]string{"groupsync: the plan passed its deadline (--run-timeout 300ms)"}},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			if tc.args[0] == "plan" {
				e.sim.SetFaults(yunzhijia.Faults{Latency: time.Hour, Calls: []string{yunzhijia.CallGroupUsers}})
			}
			e.stdout.mu.Lock()
			e.stdout.b.Reset()
			e.stdout.mu.Unlock()
			e.stderr.mu.Lock()
			e.stderr.b.Reset()
			e.stderr.mu.Unlock()
			start := time.Now()
			code := e.a.run(context.Background(), tc.args)
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %s with --run-timeout 300ms", took)
			}
			if code != exitError {
				t.Fatalf("exit %d, want 1\n%s%s", code, e.stdout, e.stderr)
			}
			out := e.stdout.String() + e.stderr.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
		})
	}
}

// Yunzhijia's published limit (25 calls/s per group endpoint) is the
// default: against a simulator that answers 429 above 30 creates a second,
// 40 creates at parallelism 8 are each made once, never refused.
func TestYunzhijiaDefaultRateLimit(t *testing.T) {
	e := newSchedEnv(t, 0)
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nproviders:\n  kd:\n    vendor: yunzhijia\n    endpoint: %s/\n    token: ${YZJ_TOKEN}\n    operator: %s\ngroups:\n", e.srv.URL, schedOperator)
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - {key: g%d, provider: kd, name: Group %d, members: [%s]}\n", i, i, schedMember)
	}
	e.write(b.String())
	e.sim.SetFaults(yunzhijia.Faults{RateLimit: 30, Calls: []string{yunzhijia.CallCreateGroup}})
	if code := e.a.run(context.Background(), []string{"apply", "-f", e.manifest, "--state", e.state, "--auto-approve", "--parallelism", "8", "--max-new-groups", "40"}); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, e.stdout, e.stderr)
	}
	if got := e.sim.Calls()[yunzhijia.CallCreateGroup]; got != 40 {
		t.Errorf("createGroup calls = %d, want 40: some were refused for the rate", got)
	}
}

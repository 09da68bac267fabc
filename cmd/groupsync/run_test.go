package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"groupsync/internal/state"
	"groupsync/internal/vendors/yunzhijia"
)

const (
	schedToken    = "sched-secret-token-7f3a9c"
	schedOperator = "5b503ee9e4b02abb5318b23e"
	schedMember   = "5b6cea82e4b05df05b3efc2b"
)

// schedBuffer is a bytes.Buffer safe for the concurrent writes of a run's
// goroutines and the test's reads.
type schedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *schedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *schedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// schedEnv is a Yunzhijia simulator over real HTTP on loopback, a manifest
// pointing at it, a state file and an app whose streams the test reads.
type schedEnv struct {
	t        *testing.T
	dir      string
	sim      *yunzhijia.Simulator
	srv      *httptest.Server
	manifest string
	state    string
	token    atomic.Value // what YZJ_TOKEN holds
	stdout   *schedBuffer
	stderr   *schedBuffer
	a        *app
}

func newSchedEnv(t *testing.T, groups int) *schedEnv {
	t.Helper()
	e := &schedEnv{t: t, dir: t.TempDir(), sim: yunzhijia.NewSimulator(schedToken), stdout: &schedBuffer{}, stderr: &schedBuffer{}}
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	e.token.Store(schedToken)
	e.manifest = filepath.Join(e.dir, "groups.yaml")
	e.state = filepath.Join(e.dir, "groupsync.db")
	e.writeManifest(groups)
	e.a = &app{
		stdin:  strings.NewReader(""),
		stdout: e.stdout,
		stderr: e.stderr,
		getenv: func(k string) (string, bool) {
			if k == "YZJ_TOKEN" {
				return e.token.Load().(string), true
			}
			return "", false
		},
	}
	return e
}

func (e *schedEnv) writeManifest(groups int) {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
providers:
  kd:
    vendor: yunzhijia
    endpoint: %s/
    token: ${YZJ_TOKEN}
    operator: %s
    workspace: "10109"
groups:
`, e.srv.URL, schedOperator)
	for i := 1; i <= groups; i++ {
		fmt.Fprintf(&b, "  - key: g%d\n    provider: kd\n    name: Group %d\n    members: [%s]\n    notices:\n      - {title: Hello, content: welcome %d}\n", i, i, schedMember, i)
	}
	e.write(b.String())
}

func (e *schedEnv) write(text string) {
	e.t.Helper()
	if err := os.WriteFile(e.manifest, []byte(text), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// args are the common arguments of a run against the env.
func (e *schedEnv) args(extra ...string) []string {
	return append([]string{"run", "-f", e.manifest, "--state", e.state, "--parallelism", "1"}, extra...)
}

// start runs the command in the background; wait returns its exit code.
func (e *schedEnv) start(ctx context.Context, f func(ctx context.Context) int) (wait func() int) {
	done := make(chan int, 1)
	go func() { done <- f(ctx) }()
	return func() int {
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			e.t.Fatalf("the command did not stop\nstderr:\n%s", e.stderr)
			return -1
		}
	}
}

// runs reads the state's run history, oldest first.
func (e *schedEnv) runs() []state.Run {
	e.t.Helper()
	store, err := state.Open(e.state)
	if err != nil {
		e.t.Fatal(err)
	}
	defer store.Close()
	runs, err := store.Runs(context.Background(), 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

// tickEvery is a schedule faster than cron's one-second granularity.
type tickEvery time.Duration

func (d tickEvery) Next(t time.Time) time.Time { return t.Add(time.Duration(d)) }

// schedWait polls cond until it holds or the deadline passes.
func schedWait(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scrapeMetrics fetches /metrics and parses it with the Prometheus text
// parser; it returns the raw text too.
func scrapeMetrics(t *testing.T, addr string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams, string(body)
}

// series returns the value of the series of name with the given labels (a
// histogram's sample count), and whether it exists.
func series(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func healthz(t *testing.T, addr string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// listenAddr finds the address in the JSON log line that announces /metrics.
func listenAddr(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving /healthz and /metrics" {
			return rec.Addr
		}
	}
	return ""
}

// The real command with a real cron spec: two runs against the simulator,
// each recorded, scraped over HTTP, and a SIGTERM between runs exits 0.
func TestRunScheduleRunsTwiceAndServesMetrics(t *testing.T) {
	e := newSchedEnv(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := e.start(ctx, func(ctx context.Context) int {
		return e.a.run(ctx, e.args("--schedule", "@every 1s", "--listen", "127.0.0.1:0", "--log-format", "json"))
	})
	var addr string
	schedWait(t, "the listen address", 5*time.Second, func() bool { addr = listenAddr(e.stderr.String()); return addr != "" })
	var fams map[string]*dto.MetricFamily
	var body string
	schedWait(t, "two successful runs", 10*time.Second, func() bool {
		fams, body = scrapeMetrics(t, addr)
		n, _ := series(fams, "groupsync_runs_total", "outcome", "ok")
		return n >= 2
	})
	if code, text := healthz(t, addr); code != http.StatusOK || text != "ok\n" {
		t.Errorf("/healthz = %d %q", code, text)
	}
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}

	want := []struct {
		name   string
		labels []string
		value  float64
	}{
		{"groupsync_changes_applied_total", []string{"kind", "create"}, 3},
		{"groupsync_changes_applied_total", []string{"kind", "notice"}, 3},
		{"groupsync_changes_applied_total", []string{"kind", "add"}, 0},
		{"groupsync_changes_applied_total", []string{"kind", "banner"}, 0},
		{"groupsync_vendor_calls_total", []string{"vendor", "yunzhijia", "call", "createGroup", "outcome", "ok"}, 3},
		{"groupsync_vendor_call_duration_seconds", []string{"vendor", "yunzhijia", "call", "createGroup"}, 3},
		{"groupsync_drift_items", nil, 0},
		{"groupsync_runs_total", []string{"outcome", "failed"}, 0},
	}
	for _, w := range want {
		got, ok := series(fams, w.name, w.labels...)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	if n, _ := series(fams, "groupsync_vendor_calls_total", "vendor", "yunzhijia", "call", "groupUsers", "outcome", "ok"); n < 3 {
		t.Errorf("groupUsers calls = %v, want the second run's reads", n)
	}
	if ts, _ := series(fams, "groupsync_last_success_timestamp_seconds"); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last success timestamp = %v", ts)
	}
	if strings.Contains(body, schedToken) || strings.Contains(e.stderr.String(), schedToken) {
		t.Error("the token leaked into /metrics or the logs")
	}
	if e.stdout.String() != "" {
		t.Errorf("scheduled mode printed to stdout: %q", e.stdout)
	}

	runs := e.runs()
	if len(runs) < 2 {
		t.Fatalf("%d runs recorded, want at least 2", len(runs))
	}
	if r := runs[0]; r.Trigger != "schedule" || r.Outcome != state.RunOK || r.Created != 3 || r.Posted != 3 {
		t.Errorf("first run = %+v", r)
	}
	if r := runs[1]; r.Outcome != state.RunOK || r.Created != 0 || r.Posted != 0 {
		t.Errorf("second run = %+v (converged: nothing to do)", r)
	}
	if got := len(e.sim.Groups()); got != 3 {
		t.Errorf("simulator has %d groups, want 3", got)
	}
	if !strings.Contains(e.stderr.String(), `"msg":"run finished"`) {
		t.Errorf("no JSON run log:\n%s", e.stderr)
	}
}

// runWithSchedule starts the command's scheduled mode with a fast schedule
// in place of the cron spec; ready receives the listen address.
func (e *schedEnv) runWithSchedule(ctx context.Context, every time.Duration, now func() time.Time, extra ...string) (addr string, wait func() int) {
	e.t.Helper()
	f, err := e.a.parseRunFlags(e.args(append([]string{"--schedule", "@every 1s", "--listen", "127.0.0.1:0"}, extra...)...)[1:])
	if err != nil {
		e.t.Fatal(err)
	}
	f.sched = tickEvery(every)
	f.now = now
	ready := make(chan string, 1)
	f.ready = func(a string) { ready <- a }
	wait = e.start(ctx, func(ctx context.Context) int { return e.a.exitCode(e.a.runWith(ctx, f)) })
	select {
	case addr = <-ready:
	case <-time.After(5 * time.Second):
		e.t.Fatalf("not listening\n%s", e.stderr)
	}
	return addr, wait
}

// A tick that comes while a run is still going is skipped and logged; runs
// never overlap.
func TestRunSkipsOverlappingTick(t *testing.T) {
	e := newSchedEnv(t, 1)
	e.sim.SetFaults(yunzhijia.Faults{Latency: 150 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := e.runWithSchedule(ctx, 20*time.Millisecond, nil)
	schedWait(t, "a skipped tick and two runs", 10*time.Second, func() bool {
		fams, _ := scrapeMetrics(t, addr)
		skipped, _ := series(fams, "groupsync_runs_total", "outcome", "skipped")
		ok, _ := series(fams, "groupsync_runs_total", "outcome", "ok")
		return skipped >= 1 && ok >= 2
	})
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	if !strings.Contains(e.stderr.String(), "tick skipped: the previous run is still going") {
		t.Errorf("no skip logged:\n%s", e.stderr)
	}
	runs := e.runs()
	for i := 1; i < len(runs); i++ {
		if runs[i].Started.Before(runs[i-1].Ended) {
			t.Errorf("run %d started at %s before run %d ended at %s", runs[i].ID, runs[i].Started, runs[i-1].ID, runs[i-1].Ended)
		}
	}
	if got := e.sim.Calls()[yunzhijia.CallCreateGroup]; got != 1 {
		t.Errorf("createGroup called %d times, want 1", got)
	}
}

// SIGTERM (a cancelled ctx) mid-run: the create in flight finishes and is
// recorded, no new call starts, the run is recorded as interrupted, exit 0.
func TestRunInterruptedMidRun(t *testing.T) {
	e := newSchedEnv(t, 3)
	e.sim.SetFaults(yunzhijia.Faults{Latency: 300 * time.Millisecond, Calls: []string{yunzhijia.CallCreateGroup}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := e.start(ctx, func(ctx context.Context) int { return e.a.run(ctx, e.args("--once")) })
	schedWait(t, "the first create to be in flight", 5*time.Second, func() bool {
		return e.sim.Calls()[yunzhijia.CallCreateGroup] >= 1
	})
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d, want 0\n%s", code, e.stderr)
	}
	if got := e.sim.Calls()[yunzhijia.CallCreateGroup]; got != 1 {
		t.Errorf("createGroup called %d times after the interrupt, want 1", got)
	}
	if n := len(e.sim.Groups()); n != 1 {
		t.Errorf("simulator has %d groups, want the 1 in flight", n)
	}
	runs := e.runs()
	if len(runs) != 1 || runs[0].Outcome != state.RunInterrupted || runs[0].Trigger != "schedule" || runs[0].Created != 1 || runs[0].Ended.IsZero() {
		t.Fatalf("runs = %+v, want one interrupted schedule run that created 1", runs)
	}
	store, err := state.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	intents, err := store.OpenIntents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(intents) != 0 {
		t.Errorf("open intents after the interrupt: %+v", intents)
	}
	bindings, err := store.Bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bindings) != 1 {
		t.Errorf("bindings = %v, want the created group recorded", bindings)
	}
	if !strings.Contains(e.stderr.String(), "run interrupted") {
		t.Errorf("no interrupt logged:\n%s", e.stderr)
	}
}

// /healthz stays 200 while runs fail within the window, turns 503 once they
// have failed for longer (an injected clock), and 200 again after a success.
func TestRunHealthz(t *testing.T) {
	e := newSchedEnv(t, 1)
	e.token.Store("a-wrong-token-5e1d") // every read is refused: runs fail fast
	var clock atomic.Int64
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock.Store(t0.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := e.runWithSchedule(ctx, 20*time.Millisecond, now, "--health-window", "1h")

	schedWait(t, "a failed run", 10*time.Second, func() bool {
		fams, _ := scrapeMetrics(t, addr)
		n, _ := series(fams, "groupsync_runs_total", "outcome", "failed")
		return n >= 1
	})
	if code, body := healthz(t, addr); code != http.StatusOK {
		t.Fatalf("failing within the window: %d %q", code, body)
	}
	clock.Store(t0.Add(61 * time.Minute).UnixNano())
	code, body := healthz(t, addr)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "since 2026-05-01T08:00:00Z") || !strings.Contains(body, "1 group failed (group g1: create: yunzhijia createGroup: unauthorized") {
		t.Fatalf("failing past the window: %d %q", code, body)
	}
	if strings.Contains(body, "a-wrong-token-5e1d") {
		t.Errorf("/healthz shows the token: %q", body)
	}
	e.token.Store(schedToken)
	schedWait(t, "healthy again after a successful run", 10*time.Second, func() bool {
		code, _ := healthz(t, addr)
		return code == http.StatusOK
	})
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	// The cancel may interrupt one more run after the success: look for a
	// success after the first failure, not at the very end.
	runs := e.runs()
	ok := slices.IndexFunc(runs, func(r state.Run) bool { return r.Outcome == state.RunOK })
	if len(runs) == 0 || runs[0].Outcome != state.RunFailed || ok < 0 {
		t.Errorf("runs = %+v, want failures then a success", runs)
	}
}

// A manifest that becomes invalid skips the run (logged with its errors, no
// vendor call, no state write); a fixed one runs again.
func TestRunInvalidManifestSkipsRun(t *testing.T) {
	e := newSchedEnv(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, wait := e.runWithSchedule(ctx, 20*time.Millisecond, nil, "--log-format", "json")
	okRuns := func() float64 {
		fams, _ := scrapeMetrics(t, addr)
		n, _ := series(fams, "groupsync_runs_total", "outcome", "ok")
		return n
	}
	schedWait(t, "a first run", 10*time.Second, func() bool { return okRuns() >= 1 })
	e.write("version: 1\nprovidrs: {}\ngroups: []\n")
	schedWait(t, "a skipped run", 10*time.Second, func() bool {
		return strings.Contains(e.stderr.String(), "manifest invalid: run skipped")
	})
	recorded := len(e.runs())
	calls := e.sim.Calls()[yunzhijia.CallGroupUsers]
	// Wait for two more ticks to have been skipped, not for a time: the
	// skips are the signal that the runs came and made no call.
	skips := func() int { return strings.Count(e.stderr.String(), "manifest invalid: run skipped") }
	n := skips()
	schedWait(t, "two more skipped runs", 10*time.Second, func() bool { return skips() >= n+2 })
	if got := e.sim.Calls()[yunzhijia.CallGroupUsers]; got != calls {
		t.Errorf("vendor called with an invalid manifest: %d -> %d", calls, got)
	}
	if got := len(e.runs()); got != recorded {
		t.Errorf("invalid runs were recorded in the state: %d -> %d", recorded, got)
	}
	e.writeManifest(1)
	before := okRuns()
	schedWait(t, "a run after the fix", 10*time.Second, func() bool { return okRuns() > before })
	cancel()
	if code := wait(); code != exitOK {
		t.Fatalf("exit %d\n%s", code, e.stderr)
	}
	for _, line := range strings.Split(e.stderr.String(), "\n") {
		if strings.Contains(line, "manifest invalid") {
			if !strings.Contains(line, `"errors":["`) || !strings.Contains(line, "providrs") {
				t.Errorf("the log does not list the errors: %s", line)
			}
			break
		}
	}
}

func TestRunOnceFailureExitsOne(t *testing.T) {
	e := newSchedEnv(t, 1)
	e.token.Store("a-wrong-token-5e1d")
	if code := e.a.run(context.Background(), e.args("--once")); code != exitError {
		t.Fatalf("exit %d, want 1\n%s", code, e.stderr)
	}
	if runs := e.runs(); len(runs) != 1 || runs[0].Outcome != state.RunFailed || runs[0].Errors != 1 {
		t.Errorf("runs = %+v", runs)
	}
}

func TestRunFlagErrors(t *testing.T) {
	e := newSchedEnv(t, 1)
	cases := []struct {
		args []string
		want string
	}{
		{e.args("--schedule", "every ten minutes"), `--schedule: "every ten minutes" is not a cron spec`},
		{e.args("--schedule", "61 * * * *"), "--schedule:"},
		{e.args(), "--schedule: missing"},
		{e.args("--once", "--health-window", "0s"), "--health-window: must be positive"},
	}
	for _, c := range cases {
		e.stderr.mu.Lock()
		e.stderr.b.Reset()
		e.stderr.mu.Unlock()
		if code := e.a.run(context.Background(), c.args); code != exitError {
			t.Errorf("%v: exit %d", c.args, code)
		}
		if !strings.Contains(e.stderr.String(), c.want) {
			t.Errorf("%v: stderr %q does not say %q", c.args, e.stderr, c.want)
		}
	}
	if _, err := os.Stat(e.state); err == nil {
		t.Error("a flag error created the state file")
	}
}

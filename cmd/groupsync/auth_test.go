package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// Credentials of the auth tests' apps.
const (
	authEID       = "10109"
	authYZJSecret = "yzj-im-secret-7Qx+/="
	authClientID  = "lk-app-1"
	authLKSecret  = "lunkr-app-secret-9Wz+/="
)

// fakeClock is a settable clock, shared by the app's token sources and the
// simulators' token lifetimes.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// authEnv is both vendors' simulators over real HTTP, with token endpoints,
// a manifest whose providers use auth:, and one app (one process).
type authEnv struct {
	t        *testing.T
	dir      string
	clock    *fakeClock
	yzj      *yunzhijia.Simulator
	lk       *lunkr.Simulator
	yzjURL   string
	lkURL    string
	manifest string
	state    string
	env      map[string]string
	stdout   *schedBuffer
	stderr   *schedBuffer
	a        *app
}

func newAuthEnv(t *testing.T, lifetime time.Duration) *authEnv {
	t.Helper()
	e := &authEnv{t: t, dir: t.TempDir(), clock: &fakeClock{t: time.Now()},
		yzj: yunzhijia.NewSimulator(), lk: lunkr.NewSimulator(),
		env:    map[string]string{"YZJ_IM_SECRET": authYZJSecret, "LUNKR_APP_SECRET": authLKSecret},
		stdout: &schedBuffer{}, stderr: &schedBuffer{}}
	e.yzj.SetAuth(authEID, authYZJSecret, lifetime)
	e.lk.SetAuth(authClientID, authLKSecret, lifetime)
	e.yzj.SetNow(e.clock.Now)
	e.lk.SetNow(e.clock.Now)
	ys, ls := httptest.NewServer(e.yzj), httptest.NewServer(e.lk)
	t.Cleanup(ys.Close)
	t.Cleanup(ls.Close)
	e.yzjURL, e.lkURL = ys.URL+"/gateway/", ls.URL+"/api/"
	e.manifest = filepath.Join(e.dir, "groups.yaml")
	e.state = filepath.Join(e.dir, "groupsync.db")
	e.a = &app{stdin: strings.NewReader(""), stdout: e.stdout, stderr: e.stderr, clock: e.clock.Now,
		getenv: func(k string) (string, bool) { v, ok := e.env[k]; return v, ok }}
	e.writeManifest(2, "")
	return e
}

// writeManifest writes yzjGroups Yunzhijia groups and one Lunkr group;
// kdToken, when set, replaces the Yunzhijia provider's auth: block.
func (e *authEnv) writeManifest(yzjGroups int, kdToken string) {
	kd := fmt.Sprintf("auth: {eid: %q, secret: \"${YZJ_IM_SECRET}\"}", authEID)
	if kdToken != "" {
		kd = kdToken
	}
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
providers:
  kd:
    vendor: yunzhijia
    endpoint: %s
    %s
    operator: %s
  cm:
    vendor: lunkr
    endpoint: %s
    auth: {clientId: %s, clientSecret: "${LUNKR_APP_SECRET}"}
groups:
  - {key: lk-1, provider: cm, name: Lunkr 1, members: [alice@example.com]}
`, e.yzjURL, kd, schedOperator, e.lkURL, authClientID)
	for i := 1; i <= yzjGroups; i++ {
		fmt.Fprintf(&b, "  - {key: g%d, provider: kd, name: Group %d, members: [%s]}\n", i, i, schedMember)
	}
	if err := os.WriteFile(e.manifest, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// savePlan writes a manifest of yzjGroups Yunzhijia groups and one Lunkr
// group, and saves its plan; it returns the plan file.
func (e *authEnv) savePlan(yzjGroups int) string {
	e.t.Helper()
	e.writeManifest(yzjGroups, "")
	planFile := filepath.Join(e.dir, "plan.json")
	if code := e.run("plan", "--out", planFile); code != exitOK {
		e.t.Fatalf("plan: exit %d\n%s", code, e.output())
	}
	return planFile
}

func (e *authEnv) run(args ...string) int {
	e.t.Helper()
	return e.a.run(context.Background(), append(args, "-f", e.manifest, "--state", e.state, "--parallelism", "4"))
}

func (e *authEnv) fetches() (yzj, lk int) {
	c := e.yzj.Calls()
	return c[yunzhijia.CallGetToken] + c[yunzhijia.CallRefreshToken], e.lk.Calls()[lunkr.CallToken]
}

// output is everything the app printed.
func (e *authEnv) output() string { return e.stdout.String() + e.stderr.String() }

// A scheduled run spanning three token lifetimes fetches at most one token
// per lifetime per provider (renewed a tenth of the lifetime early), and no
// call is refused for its token.
func TestRunFetchesOneTokenPerLifetime(t *testing.T) {
	e := newAuthEnv(t, 100*time.Second)
	f, err := e.a.parseRunFlags([]string{"-f", e.manifest, "--state", e.state, "--parallelism", "4", "--schedule", "@every 1s"})
	if err != nil {
		t.Fatal(err)
	}
	f.sched = tickEvery(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.runWith(ctx, f) }()
	// Runs at fake times 0, 10, ..., 260 s: less than three lifetimes less
	// the renewal margin, so three tokens per provider at most.
	runsDone := func() int {
		n := 0
		for _, r := range e.recordedRuns() {
			if r.Outcome == "ok" {
				n++
			}
		}
		return n
	}
	for step := 1; step <= 27; step++ {
		schedWait(t, fmt.Sprintf("run %d", step), 20*time.Second, func() bool { return runsDone() >= step })
		if step < 27 {
			e.clock.Add(10 * time.Second)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	yzj, lk := e.fetches()
	if yzj < 1 || yzj > 3 || lk < 1 || lk > 3 {
		t.Fatalf("token fetches: yunzhijia %d, lunkr %d over less than three lifetimes; want 1 to 3 each", yzj, lk)
	}
	// The run in flight when the loop was stopped may be cut short.
	for _, r := range e.recordedRuns() {
		if r.Outcome != "ok" && r.Outcome != "interrupted" && r.Outcome != "" {
			t.Fatalf("run %d: %s %s\n%s", r.ID, r.Outcome, r.Message, e.output())
		}
	}
	if n := len(e.yzj.Groups()); n != 2 {
		t.Fatalf("%d yunzhijia groups, want 2", n)
	}
	assertNoSecret(t, e, e.output())
}

// recordedRuns are the runs recorded in the state, oldest first (none before
// the state file exists).
func (e *authEnv) recordedRuns() []state.Run {
	if _, err := os.Stat(e.state); err != nil {
		return nil
	}
	return (&schedEnv{t: e.t, state: e.state}).runs()
}

// A token revoked while the process runs is fetched again once, and the
// refused call retried.
func TestRevokedTokenRefetchedOnce(t *testing.T) {
	e := newAuthEnv(t, time.Hour)
	if code := e.run("run", "--once"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, e.output())
	}
	e.yzj.RevokeTokens()
	e.lk.RevokeTokens()
	e.yzj.ResetCalls()
	e.lk.ResetCalls()
	if code := e.run("run", "--once"); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, e.output())
	}
	yzj, lk := e.fetches()
	yc, lc := e.yzj.Calls(), e.lk.Calls()
	// Two groups are read on Yunzhijia: the first read is refused, then both
	// go through with the new token; a concurrent refusal shares the fetch.
	if yzj != 1 || lk != 1 || yc[yunzhijia.CallGroupUsers] < 3 || yc[yunzhijia.CallGroupUsers] > 4 || lc[lunkr.CallInfo] != 2 {
		t.Fatalf("fetches yunzhijia %d lunkr %d, calls %v %v: want one fetch each and each refused read retried once", yzj, lk, yc, lc)
	}
}

// A wrong secret: one error for that provider, whatever its number of
// groups, no group call to it, and the other provider converges.
func TestWrongSecretOneErrorPerProvider(t *testing.T) {
	e := newAuthEnv(t, time.Hour)
	e.writeManifest(40, "")
	e.env["YZJ_IM_SECRET"] = "not-the-secret"
	code := e.run("apply", "--auto-approve", "--max-new-groups", "50")
	if code != exitError {
		t.Fatalf("exit %d, want 1\n%s", code, e.output())
	}
	out := e.stdout.String()
	if n := strings.Count(out, "no access token"); n != 1 {
		t.Fatalf("%d token errors, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "! provider kd: no access token: credentials refused: getAccessToken refused (errorCode 401: eid or secret is wrong)") ||
		!strings.Contains(out, "hint: check the ids in the provider's auth: block") {
		t.Fatalf("the error should name the provider and the cause:\n%s", out)
	}
	if strings.Count(out, "provider kd cannot be used (see its error)") != 40 {
		t.Fatalf("each of the 40 groups should refer to the provider's error:\n%s", out)
	}
	if c := e.yzj.Calls(); c[yunzhijia.CallGetToken] != 1 || c[yunzhijia.CallCreateGroup] != 0 {
		t.Fatalf("yunzhijia calls %v: want one token request and no create", c)
	}
	if n := len(e.lk.Groups()); n != 1 {
		t.Fatalf("%d lunkr groups, want 1: the other provider goes on\n%s", n, e.output())
	}
	assertNoSecret(t, e, e.output())
	// Scheduled mode stops at start with the provider's error, once, not
	// once per group.
	e.stderr.b.Reset()
	if code := e.run("run", "--once", "--max-new-groups", "50"); code != exitError {
		t.Fatalf("run --once: exit %d, want 1 at start\n%s", code, e.output())
	}
	logs := e.stderr.String()
	if n := strings.Count(logs, "no access token"); n != 1 {
		t.Fatalf("%d mentions of the token error in the run's output, want 1:\n%s", n, logs)
	}
	if strings.Contains(logs, "group blocked") {
		t.Fatalf("groups logged one by one:\n%s", logs)
	}
}

// A tokenCommand that never finishes, with 40 groups: one run, killed after
// tokenCommandTimeout, one error; and a failing one runs once.
func TestTokenCommandOncePerProvider(t *testing.T) {
	for _, tc := range []struct {
		name, command, want string
	}{
		{"hangs", `[sh, -c, "echo run >> %s; sleep 1000 & sleep 1000"]`, "tokenCommand sh did not finish within 300ms (tokenCommandTimeout): it was killed with its child processes"},
		{"fails", `[sh, -c, "echo run >> %s; exit 3"]`, "tokenCommand sh exited with status 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newAuthEnv(t, time.Hour)
			log := filepath.Join(e.dir, "runs")
			e.writeManifest(40, "tokenCommand: "+fmt.Sprintf(tc.command, log)+"\n    tokenCommandTimeout: 300ms")
			start := time.Now()
			if code := e.run("plan"); code != exitError {
				t.Fatalf("exit %d, want 1\n%s", code, e.output())
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Fatalf("plan took %s", d)
			}
			out := e.stdout.String()
			if n := strings.Count(out, "no access token"); n != 1 || !strings.Contains(out, "! provider kd: no access token: "+tc.want) {
				t.Fatalf("want one error %q:\n%s", tc.want, out)
			}
			data, _ := os.ReadFile(log)
			if n := strings.Count(string(data), "run"); n != 1 {
				t.Fatalf("tokenCommand ran %d times, want 1", n)
			}
		})
	}
}

func assertNoSecret(t *testing.T, e *authEnv, out string) {
	t.Helper()
	secrets := []string{authYZJSecret, authLKSecret, "not-the-secret"}
	secrets = append(secrets, e.yzj.IssuedTokens()...)
	secrets = append(secrets, e.lk.IssuedTokens()...)
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("secret %q in the output", s)
		}
	}
	data, _ := os.ReadFile(e.state)
	for _, s := range secrets {
		if strings.Contains(string(data), s) {
			t.Fatalf("secret %q in the state file", s)
		}
	}
}

// A saved plan applied when a provider's secret no longer works: that
// provider's groups are not applied, said once, and the other's are.
func TestSavedPlanProviderDown(t *testing.T) {
	e := newAuthEnv(t, time.Hour)
	planFile := e.savePlan(5)
	// Another process, with a wrong secret.
	e.env["YZJ_IM_SECRET"] = "not-the-secret"
	e.a = &app{stdin: strings.NewReader(""), stdout: e.stdout, stderr: e.stderr, clock: e.clock.Now, getenv: e.a.getenv}
	e.stdout.b.Reset()
	code := e.a.run(context.Background(), []string{"apply", planFile, "--state", e.state})
	if code != exitError {
		t.Fatalf("apply: exit %d, want 1\n%s", code, e.output())
	}
	out := e.stdout.String()
	if n := strings.Count(out, "no access token"); n != 1 {
		t.Fatalf("%d token errors, want 1:\n%s", n, out)
	}
	if c := e.yzj.Calls(); c[yunzhijia.CallCreateGroup] != 0 {
		t.Fatalf("yunzhijia calls %v: want no create", c)
	}
	if n := len(e.lk.Groups()); n != 1 {
		t.Fatalf("%d lunkr groups, want 1\n%s", n, out)
	}
}

// SIGTERM (a cancelled ctx) while a tokenCommand hangs stops `run` at once:
// the command and its child are killed, not waited for.
func TestRunStopsWhileTokenCommandHangs(t *testing.T) {
	e := newAuthEnv(t, time.Hour)
	log := filepath.Join(e.dir, "started")
	e.writeManifest(3, `tokenCommand: [sh, -c, "echo started > `+log+`; sleep 1000 & sleep 1000"]`+"\n    tokenCommandTimeout: 1h")
	f, err := e.a.parseRunFlags([]string{"-f", e.manifest, "--state", e.state, "--schedule", "@every 1s"})
	if err != nil {
		t.Fatal(err)
	}
	f.sched = tickEvery(10 * time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.a.runWith(ctx, f) }()
	schedWait(t, "the tokenCommand to start", 10*time.Second, func() bool { _, err := os.Stat(log); return err == nil })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("run did not stop while its tokenCommand hung\n%s", e.output())
	}
}

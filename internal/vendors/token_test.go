package vendors

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCommandTokenSharedByConcurrentCallers(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	runs := 0
	ts := CommandToken("kd", []string{"tok"})
	ts.Run = func(ctx context.Context, argv []string) ([]byte, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		<-release
		return []byte("TOK-1\n"), nil
	}
	var wg sync.WaitGroup
	got := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := ts.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- tok
		}()
	}
	close(release)
	wg.Wait()
	close(got)
	for tok := range got {
		if tok != "TOK-1" {
			t.Fatalf("token %q, want TOK-1", tok)
		}
	}
	if runs != 1 {
		t.Fatalf("command ran %d times for 20 callers, want 1", runs)
	}
}

// TestFailingCommandRunsOnce: 40 groups' calls, one run, one error.
func TestFailingCommandRunsOnce(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	log := filepath.Join(t.TempDir(), "runs")
	ts := CommandToken("kd", []string{"sh", "-c", "echo run >> " + log + "; exit 3"})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ts.Token(context.Background())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
		if err == nil || err.Error() != first.Error() {
			t.Fatalf("error %v, want every caller to get %v", err, first)
		}
	}
	if want := "provider kd: no access token: tokenCommand sh exited with status 3"; first.Error() != want {
		t.Fatalf("error %q, want %q", first, want)
	}
	data, _ := os.ReadFile(log)
	if n := strings.Count(string(data), "run"); n != 1 {
		t.Fatalf("command ran %d times, want 1", n)
	}
	// A refused token does not run it again either: the failure is kept.
	if _, _, err := ts.Refresh(context.Background(), "x"); err == nil || err.Error() != first.Error() {
		t.Fatalf("refresh: %v", err)
	}
	if data, _ := os.ReadFile(log); strings.Count(string(data), "run") != 1 {
		t.Fatal("refresh ran the failed command again")
	}
}

// TestCommandTimeoutKillsChildren: a command that never finishes, and
// whose child never does either, is killed with the child after the
// timeout, with one error.
func TestCommandTimeoutKillsChildren(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	marker := fmt.Sprintf("1000.%d", time.Now().UnixNano()%1000000)
	ts := CommandToken("kd", []string{"sh", "-c", "sleep " + marker + " & sleep " + marker})
	ts.CommandTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := ts.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("error %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %s", d)
	}
	if _, err2 := ts.Token(context.Background()); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second call: %v, want the kept error", err2)
	}
	// SIGKILL is delivered asynchronously: wait for the processes to go.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := liveProcesses(marker)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left running: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveProcesses lists the pids of processes, zombies aside, whose command
// line contains s.
func liveProcesses(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !strings.Contains(string(cmd), s) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		out = append(out, filepath.Base(d))
	}
	return out
}

func TestCommandTokenOneLine(t *testing.T) {
	for out, want := range map[string]string{
		"TOK\n":            "",
		"\n  TOK  \n\n":    "",
		"TOK-A\nTOK-B\n":   "printed 2 non-empty lines",
		"   \n":            "printed no token",
		"TOK-A\r\nTOK-B\n": "printed 2 non-empty lines",
	} {
		ts := CommandToken("kd", []string{"tok"})
		ts.Run = func(context.Context, []string) ([]byte, error) { return []byte(out), nil }
		tok, err := ts.Token(context.Background())
		switch {
		case want == "" && (err != nil || tok != "TOK"):
			t.Errorf("%q: %q, %v; want TOK", out, tok, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v; want %q", out, err, want)
		case want != "" && strings.Contains(err.Error(), "TOK-"):
			t.Errorf("%q: the output is in the error %q", out, err)
		}
		if strings.Contains(out, "TOK-A") && strings.Contains(ts.Redact("x TOK-A y"), "TOK-A") {
			t.Errorf("%q: a line of refused output is not redacted", out)
		}
	}
}

// fakeAuth issues tokens from a list; a nil error in errs means success.
type fakeAuth struct {
	mu    sync.Mutex
	calls int
	prev  []*Grant
	errs  []error
}

func (f *fakeAuth) auth() Auth {
	return Auth{Fields: []AuthField{{Name: "id"}, {Name: "secret", Secret: true}}, Fetch: func(ctx context.Context, r FetchRequest) (Grant, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls++
		f.prev = append(f.prev, r.Previous)
		if i := f.calls - 1; i < len(f.errs) && f.errs[i] != nil {
			return Grant{}, f.errs[i]
		}
		return Grant{Token: fmt.Sprintf("TOK-%d", f.calls), Lifetime: 100 * time.Second, Refresh: fmt.Sprintf("R-%d", f.calls)}, nil
	}}
}

func TestAuthTokenRenewal(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f := &fakeAuth{errs: []error{nil, nil, fmt.Errorf("%w: down", ErrTransient), fmt.Errorf("%w: sec-ret refused", ErrBadCredentials)}}
	ts := AuthToken("kd", f.auth(), "https://x/", Credentials{"id": "1", "secret": "sec-ret"})
	ts.Now = func() time.Time { return now }
	ctx := context.Background()
	token := func(want string) {
		t.Helper()
		got, err := ts.Token(ctx)
		if got != want || (want != "" && err != nil) {
			t.Fatalf("at %s: %q, %v; want %q", now.Format("15:04:05"), got, err, want)
		}
	}
	token("TOK-1")
	now = now.Add(89 * time.Second)
	token("TOK-1") // within the lifetime less a tenth
	now = now.Add(2 * time.Second)
	token("TOK-2") // renewed, with the previous grant
	if f.prev[1] == nil || f.prev[1].Refresh != "R-1" {
		t.Fatalf("renewal given %+v, want the previous grant", f.prev[1])
	}
	now = now.Add(95 * time.Second)
	token("TOK-2") // the renewal failed, but TOK-2 still lives: kept to its end
	now = now.Add(6 * time.Second)
	_, err := ts.Token(ctx) // expired, and the fetch fails: kept, redacted
	if !errors.Is(err, ErrBadCredentials) || strings.Contains(err.Error(), "sec-ret") {
		t.Fatalf("%v, want bad credentials, redacted", err)
	}
	if _, err2 := ts.Token(ctx); err2.Error() != err.Error() || f.calls != 4 {
		t.Fatalf("%v after %d fetches, want the kept error after 4", err2, f.calls)
	}
}

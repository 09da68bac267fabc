package state

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/state/pgtest"
)

// The test binary doubles as the second process of the cross-process tests:
// run with childEnv set, TestMain plays the child named by its value instead
// of running the tests.
const (
	childEnv     = "GROUPSYNC_STATE_TEST_CHILD"
	childPathEnv = "GROUPSYNC_STATE_TEST_PATH"
	// childStaleEnv is the --lock-stale of a child holding the lock.
	childStaleEnv = "GROUPSYNC_STATE_TEST_STALE"
)

// backendEnv set to "postgres" runs the suite against PostgreSQL: the test
// binary runs itself so from TestPostgres, and every test that makes a
// state makes it on the server (newLocation). Tests of what only a file has
// (modes, SQLite's own checks, old files) skip themselves (sqliteOnly).
const backendEnv = "GROUPSYNC_STATE_TEST_BACKEND"

// testingPostgres reports whether this run of the suite is PostgreSQL's.
func testingPostgres() bool { return os.Getenv(backendEnv) == "postgres" }

// sqliteOnly skips a test of what only a SQLite file has.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if testingPostgres() {
		t.Skip("SQLite only")
	}
}

// newLocation returns a new, empty state location: a file in a temporary
// directory, or a schema of its own on the PostgreSQL server.
func newLocation(t testing.TB) string {
	t.Helper()
	if testingPostgres() {
		return pgtest.Location(t)
	}
	return filepath.Join(t.TempDir(), "groupsync.db")
}

// TestPostgres runs the whole suite again against PostgreSQL, in a child
// test binary, and fails with its output if it fails.
func TestPostgres(t *testing.T) {
	if testingPostgres() {
		t.Skip("this is the PostgreSQL run")
	}
	pgtest.BaseURL(t)
	args := []string{"-test.count=1", "-test.v"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), backendEnv+"=postgres")
	out, err := cmd.CombinedOutput()
	var passed, skipped int
	for _, line := range strings.Split(string(out), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "--- PASS"):
			passed++
		case strings.HasPrefix(l, "--- SKIP"):
			skipped++
		}
	}
	if err != nil {
		t.Fatalf("the suite against PostgreSQL failed: %v\n%s", err, out)
	}
	t.Logf("the suite against PostgreSQL: %d passed, %d skipped (SQLite only)", passed, skipped)
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Getenv(childPathEnv)))
	}
	os.Exit(m.Run())
}

// runChild plays one child role and returns its exit code. It reports
// progress as lines on stdout for the parent to wait on.
func runChild(mode, path string) int {
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch mode {
	case "hold-lock":
		// Take the lock, say so, hold it until stdin closes.
		stale, _ := time.ParseDuration(os.Getenv(childStaleEnv))
		unlock, err := s.LockWith(ctx, "groupsync apply", LockOptions{Stale: stale})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("locked %d\n", os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		if err := unlock(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "begin-intent":
		// Record an intent, say so, and hang as if the create were in
		// flight: the parent kills us.
		id, err := s.BeginIntent(ctx, Intent{Key: "crashy", Provider: "kingdee", Kind: IntentCreate, Name: "崩溃组"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("intent %d\n", id)
		select {}
	default:
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is a running second process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startChild starts the test binary as a child in mode on path, and kills
// it at the end of the test if it is still running.
func startChild(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPathEnv+"="+path)
	cmd.Stderr = &prefixWriter{t: t}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, lines: make(chan string, 8)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return c
}

// expect waits for the child's next line and checks its first word.
func (c *child) expect(t *testing.T, word string) string {
	t.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			t.Fatalf("child exited before saying %q", word)
		}
		if !strings.HasPrefix(line, word+" ") {
			t.Fatalf("child said %q, want %q ...", line, word)
		}
		return strings.TrimPrefix(line, word+" ")
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not say %q within 30s", word)
	}
	return ""
}

// prefixWriter logs a child's stderr in the test log.
type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Logf("child: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newStore opens a new state file in a temporary directory. At the end of
// the test it closes the store and checks the file's integrity.
func newStore(t testing.TB) *Store {
	t.Helper()
	return openStore(t, newLocation(t))
}

// openStore opens path, closing it and checking its integrity at the end of
// the test.
func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if !IsPostgres(path) {
			checkIntegrity(t, path)
		}
	})
	return s
}

// checkIntegrity fails the test unless PRAGMA integrity_check on the file
// at path says "ok".
func checkIntegrity(t testing.TB, path string) {
	t.Helper()
	// Not Open: the check must not migrate, nor refuse a newer file.
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatalf("integrity check: %v", err)
	}
	defer db.Close()
	if err := integrityCheck(context.Background(), db, path); err != nil {
		t.Error(err)
	}
}

// ts is a fixed time with nanoseconds, in a zone other than UTC.
func ts(minute int) time.Time {
	return time.Date(2026, 11, 26, 20, minute, 5, 123456789, time.FixedZone("CST", 8*3600))
}

func mustSerial(t *testing.T, s *Store) int64 {
	t.Helper()
	n, err := s.Serial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// groupsyncBinary builds the groupsync command once per test run and
// returns its path.
func groupsyncBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "groupsync-reliability-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "groupsync")
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goBin, "build", "-o", binPath, "groupsync/cmd/groupsync")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build groupsync: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// result is what one groupsync process did.
type result struct {
	args     []string
	code     int // exit code; -1 when killed
	stdout   string
	stderr   string
	duration time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("groupsync %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cli runs the groupsync binary with a fixed environment.
type cli struct {
	bin string
	dir string   // working directory
	env []string // added to a minimal environment
}

func newCLI(t testing.TB, dir string, env ...string) *cli {
	return &cli{bin: groupsyncBinary(t), dir: dir, env: env}
}

func (c *cli) command(ctx context.Context, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.dir, "NO_COLOR=1"}, c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	return cmd, &stdout, &stderr
}

// run runs groupsync to its end (at most a minute).
func (c *cli) run(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, stdout, stderr := c.command(ctx, args...)
	start := time.Now()
	err := cmd.Run()
	res := result{args: args, stdout: stdout.String(), stderr: stderr.String(), duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("groupsync %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("groupsync %s did not finish in a minute\n%s", strings.Join(args, " "), res)
	}
	return res
}

// runOK runs groupsync and fails the test unless it exits with one of codes
// (0 when none given).
func (c *cli) runOK(t testing.TB, args []string, codes ...int) result {
	t.Helper()
	if len(codes) == 0 {
		codes = []int{0}
	}
	r := c.run(t, args...)
	for _, code := range codes {
		if r.code == code {
			return r
		}
	}
	t.Fatalf("unexpected exit code\n%s", r)
	return r
}

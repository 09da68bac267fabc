package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"groupsync/internal/state"
)

// The steps of the whole-command benchmark, in the order they run.
const (
	StepValidate = "validate"
	StepPlan     = "plan"  // cold: live reads, saved with --out
	StepApply    = "apply" // apply PLANFILE, sealed by the plan
	// StepApplyUnsealed is apply PLANFILE of a copy of the plan file with
	// a byte added: not sealed, it is checked against the whole manifest.
	StepApplyUnsealed = "apply-unsealed"
	StepCached        = "cached" // plan --refresh=false
)

// groupsPerFile is how many groups each manifest file of the whole-command
// benchmark holds: a large fleet is split over files, as a single file may
// be at most spec.MaxManifestSize.
const groupsPerFile = 1000

// StepResult is what one run of the groupsync binary did.
type StepResult struct {
	Scenario Scenario
	Step     string
	Calls    Calls
	MinCalls Calls
	Wall     time.Duration
	CPU      time.Duration // the child's user and system time
	PeakRSS  int64         // bytes, the child's maximum resident set (rusage)
	SimRSS   int64         // bytes, the simulator process's high-water mark during the step
	SimCPU   time.Duration // the simulator process's user and system time during the step (it shares the machine)
}

// latency is the latency the step's calls ran under: none for the steps
// that make no call.
func (r StepResult) latency() time.Duration {
	if r.Step == StepPlan || r.Step == StepApply || r.Step == StepApplyUnsealed {
		return r.Scenario.Latency
	}
	return 0
}

// Bound is the lower bound the step's calls set on its wall time (see
// Result.Bound); the CLI steps run with no client rate limit.
func (r StepResult) Bound() time.Duration {
	n := float64(r.Calls.Total())
	return time.Duration(n * r.latency().Seconds() / float64(max(1, r.Scenario.Parallelism)) * float64(time.Second))
}

// Ratio is Wall over Bound; 0 when there is no bound.
func (r StepResult) Ratio() float64 {
	if r.Bound() <= 0 {
		return 0
	}
	return r.Wall.Seconds() / r.Bound().Seconds()
}

// String is the benchmark's line for the step.
func (r StepResult) String() string {
	ratio := "n/a"
	if r.Bound() > 0 {
		ratio = fmt.Sprintf("%.2f", r.Ratio())
	}
	return fmt.Sprintf("cli groups=%d members=%d latency=%s parallelism=%d step=%s calls=%d min_calls=%d wall=%.2fs bound=%.2fs ratio=%s cpu=%.2fs peak_rss=%dMB sim_cpu=%.2fs sim_rss=%dMB",
		r.Scenario.Groups, r.Scenario.Members, r.latency(), r.Scenario.Parallelism, r.Step,
		r.Calls.Total(), r.MinCalls.Total(), r.Wall.Seconds(), r.Bound().Seconds(), ratio, r.CPU.Seconds(), r.PeakRSS>>20, r.SimCPU.Seconds(), r.SimRSS>>20)
}

// BuildCLI builds the groupsync command into dir and returns its path.
func BuildCLI(dir string) (string, error) {
	bin := filepath.Join(dir, "groupsync")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goBin, "build", "-o", bin, "groupsync/cmd/groupsync").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build groupsync: %w\n%s", err, out)
	}
	return bin, nil
}

// RunCLI runs the whole-command benchmark of sc with the groupsync binary
// bin, in dir: it writes the manifest as YAML files, seeds the state file
// and the simulators (in their own process) with the existing groups, then
// runs validate, a cold plan --out, apply PLANFILE and a cached plan, each
// as a child process, and returns a result per step. A step that fails or
// makes other calls than its minimum is an error (with the results so far).
// With unsealed, the apply is StepApplyUnsealed's.
func RunCLI(ctx context.Context, bin, dir string, sc Scenario, unsealed bool) ([]StepResult, error) {
	sims, err := startSims(sc)
	if err != nil {
		return nil, err
	}
	defer sims.close()
	mdir := filepath.Join(dir, "manifest")
	if err := writeManifest(mdir, sc, sims.yzjURL, sims.lunkrURL, sims.wecomURL); err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "groupsync.db")
	if err := seedState(ctx, db, sc, sims); err != nil {
		return nil, err
	}
	planFile := filepath.Join(dir, "plan.json")
	applyStep, applied := StepApply, planFile
	if unsealed {
		applyStep, applied = StepApplyUnsealed, filepath.Join(dir, "plan-unsealed.json")
	}
	par := strconv.Itoa(sc.Parallelism)
	least := sc.MinCalls()
	steps := []struct {
		name    string
		latency time.Duration
		want    Calls
		args    []string
	}{
		{StepValidate, 0, Calls{}, []string{"validate", "-f", mdir}},
		{StepPlan, sc.Latency, Calls{Reads: least.Reads}, []string{"plan", "-f", mdir, "--state", db, "--parallelism", par, "--out", planFile}},
		{applyStep, sc.Latency, Calls{Creates: least.Creates, Adds: least.Adds, Removes: least.Removes, Posts: least.Posts},
			[]string{"apply", "--state", db, "--parallelism", par, "--max-new-groups", strconv.Itoa(sc.Groups), "--max-removals", strconv.Itoa(sc.Groups * sc.Members), applied}},
		{StepCached, 0, Calls{}, []string{"plan", "-f", mdir, "--state", db, "--refresh=false"}},
	}
	var out []StepResult
	for _, s := range steps {
		if err := sims.start(s.latency); err != nil {
			return out, err
		}
		r := StepResult{Scenario: sc, Step: s.name, MinCalls: s.want}
		if s.name == StepApplyUnsealed {
			if err := copyWithSpace(planFile, applied); err != nil {
				return out, err
			}
		}
		stderr, err := runStep(ctx, bin, dir, s.args, &r)
		if err != nil {
			return out, err
		}
		if s.name == StepPlan && strings.Contains(stderr, "not sealed") {
			return out, fmt.Errorf("plan: %s", stderr)
		}
		st, err := sims.status()
		if err != nil {
			return out, err
		}
		r.Calls, r.SimRSS, r.SimCPU = st.Calls, st.PeakRSS, st.CPU
		out = append(out, r)
		if r.Calls != r.MinCalls {
			return out, fmt.Errorf("%s: calls = %+v, want the minimum %+v", s.name, r.Calls, r.MinCalls)
		}
	}
	return out, nil
}

// runStep runs the binary once and fills the step's wall time, CPU and
// peak RSS. The plan's output goes nowhere: rendering it is part of the
// command's cost, reading it is not.
func runStep(ctx context.Context, bin, dir string, args []string, r *StepResult) (stderr string, _ error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "YZJ_TOKEN="+token, "LUNKR_TOKEN="+token, "WECOM_TOKEN="+token)
	if pdir := os.Getenv("GROUPSYNC_BENCH_PROFILE"); pdir != "" {
		cmd.Env = append(cmd.Env, "GROUPSYNC_CPUPROFILE="+filepath.Join(pdir, r.Step+".cpu"))
	}
	// Linux counts in the child's peak the image it replaced, which shares
	// this process's memory until the exec: this process's peak is brought
	// down to what it holds now (a few tens of MB, a floor of the figure).
	resetPeakRSS()
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	start := time.Now()
	err := cmd.Run()
	r.Wall = time.Since(start)
	var exit *exec.ExitError
	// plan exits 0 or, with changes, 0 too (no --detailed-exitcode).
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
		return "", fmt.Errorf("groupsync %s: %w\n%s", strings.Join(args, " "), err, tail(errOut.String(), 2000))
	}
	ps := cmd.ProcessState
	r.CPU = ps.UserTime() + ps.SystemTime()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSS = int64(ru.Maxrss) << 10 // kilobytes on Linux
	}
	return errOut.String(), nil
}

// copyWithSpace copies the plan file src to dst with a space added at its
// end: the same plan, but not the bytes that were sealed.
func copyWithSpace(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, append(data, ' '), 0o600)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// writeManifest writes the scenario's manifest to dir as a user would
// split a large one: the providers and people in one file, the groups in
// files of groupsPerFile. The providers have no rate limit to speak of, so
// that the bound is the latency's.
func writeManifest(dir string, sc Scenario, yzjURL, lunkrURL, wecomURL string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data []byte) error {
		return os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	if err := write("00-people.yaml", sc.headYAML(yzjURL, lunkrURL, wecomURL, 1e6)); err != nil {
		return err
	}
	for lo := 0; lo < sc.Groups; lo += groupsPerFile {
		var b bytes.Buffer
		b.WriteString("version: 1\n")
		sc.groupsYAML(&b, lo, min(lo+groupsPerFile, sc.Groups))
		if err := write(fmt.Sprintf("groups-%05d.yaml", lo/groupsPerFile), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// seedState puts in the state file at path what an earlier run would have
// left for the existing groups, as NewWorld does, and closes it.
func seedState(ctx context.Context, path string, sc Scenario, sims *simProcess) error {
	store, err := state.Open(path)
	if err != nil {
		return err
	}
	w := &World{Scenario: sc, Manifest: sc.Manifest(sims.yzjURL, sims.lunkrURL, sims.wecomURL), Store: store}
	return errors.Join(w.seed(ctx), store.Close())
}

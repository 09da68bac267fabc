package main

// CLI tests: every command run in process, with buffers for its streams and
// a state file (and sandbox world) in a temporary directory. What users see
// is compared with golden files under testdata/; `go test -update` rewrites
// them. Timestamps, the temporary directory and digests are normalised.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
	"groupsync/internal/state"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const example = "../../examples/groups.yaml"

// cli runs commands against one state file.
type cli struct {
	t     *testing.T
	dir   string
	state string
	env   map[string]string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, dir: dir, state: filepath.Join(dir, "groupsync.db"), env: map[string]string{}}
}

// result is one command's exit code and output.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runOn(false, "", args...)
}

// runOn runs a command as if from a terminal (or not) with stdin.
func (c *cli) runOn(terminal bool, stdin string, args ...string) result {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{
		stdin:    strings.NewReader(stdin),
		stdout:   &stdout,
		stderr:   &stderr,
		getenv:   func(k string) (string, bool) { v, ok := c.env[k]; return v, ok },
		terminal: terminal,
	}
	code := a.run(context.Background(), args)
	return result{args: args, code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// sandbox runs a command on the sandbox and this state file, one group at
// a time so that logs come in a stable order.
func (c *cli) sandbox(cmd string, args ...string) result {
	c.t.Helper()
	return c.run(append([]string{cmd, "--sandbox", "--state", c.state, "--parallelism", "1"}, args...)...)
}

func (r result) wantCode(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("groupsync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "TIME"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b`), "DIGEST"},
	{regexp.MustCompile(`"stateLineage": "[0-9a-f]{32}"`), `"stateLineage": "LINEAGE"`},
	// Apply works on groups in parallel, so the simulators hand out ids, and
	// the log lines come, in an order that varies from run to run.
	{regexp.MustCompile(`\b5e0{8}[0-9a-f]{14}\b`), "YZJ-ID"},
	{regexp.MustCompile(`\b100\d\d\b`), "LUNKR-ID"},
	{regexp.MustCompile(`\bdone=\d+ `), "done=N "},
}

// sortLines sorts s when it is all log lines: the per-group log lines of a
// parallel apply arrive in any order. Anything else keeps its order.
func sortLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for _, l := range lines {
		if l != "" && !strings.HasPrefix(l, "time=") {
			return s
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// normalise replaces what changes from run to run.
func (c *cli) normalise(s string) string {
	s = strings.ReplaceAll(s, c.dir, "$TMP")
	for _, n := range normalisers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	// A WeCom chatid groupsync chose: 32 random letters and digits (with
	// an upper-case letter, unlike a hex token).
	return chosenIDRe.ReplaceAllStringFunc(s, func(id string) string {
		if strings.ContainsAny(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			return "WECOM-ID"
		}
		return id
	})
}

var chosenIDRe = regexp.MustCompile(`\b[0-9A-Za-z]{32}\b`)

// golden compares the result with testdata/name.golden.
func (c *cli) golden(name string, r result) {
	c.t.Helper()
	var args []string
	for _, a := range r.args {
		args = append(args, c.normalise(a))
	}
	got := fmt.Sprintf("$ groupsync %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", strings.Join(args, " "), r.code, c.normalise(r.stdout), sortLines(c.normalise(r.stderr)))
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			c.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatalf("%v (run `go test -update` to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		c.t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// open opens the state file for a look behind the CLI's back.
func (c *cli) open() *state.Store {
	c.t.Helper()
	st, err := state.Open(c.state)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { st.Close() })
	return st
}

func (c *cli) bindings() map[string]state.Binding {
	c.t.Helper()
	st, err := state.Open(c.state)
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	b, err := st.Bindings(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// sandboxGroups returns the group ids in the sandbox world, by vendor.
func (c *cli) sandboxGroups() map[string][]string {
	c.t.Helper()
	data, err := os.ReadFile(sandboxPath(c.state))
	if err != nil {
		c.t.Fatal(err)
	}
	var w map[string]struct {
		Groups []struct {
			ID string `json:"id"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		c.t.Fatal(err)
	}
	out := map[string][]string{}
	for vendor, world := range w {
		for _, g := range world.Groups {
			out[vendor] = append(out[vendor], g.ID)
		}
	}
	return out
}

// The sandbox world before any apply: only the group examples/groups.yaml
// pins (legacy-room) exists.
var seededOnly = map[string][]string{"yunzhijia": {"5bee7172e4b0f6bbaa32b4bf"}}

func TestCLIValidate(t *testing.T) {
	c := newCLI(t)
	c.golden("validate-ok", c.run("validate", "-f", example).wantCode(t, 0))
	r := c.run("validate", "-f", "testdata/invalid.yaml").wantCode(t, 1)
	c.golden("validate-errors", r)
	if !regexp.MustCompile(`(?m)^testdata/invalid\.yaml:\d+:\d+: `).MatchString(r.stderr) {
		t.Errorf("errors are not file:line:col: %s", r.stderr)
	}
	c.run("validate").wantCode(t, 1)
	if _, err := os.Stat(c.state); err == nil {
		t.Errorf("validate wrote a state file")
	}
}

func TestCLIPlanApplyPlanOnTheSandbox(t *testing.T) {
	c := newCLI(t)
	c.golden("plan-sandbox", c.sandbox("plan", "-f", example).wantCode(t, 0))
	c.golden("plan-sandbox-detailed", c.sandbox("plan", "-f", example, "--detailed-exitcode").wantCode(t, 2))
	if b := c.bindings(); len(b) != 0 {
		t.Fatalf("plan bound groups: %v", b)
	}
	if diff := cmp.Diff(seededOnly, c.sandboxGroups()); diff != "" {
		t.Fatalf("plan changed the sandbox world (-want +got):\n%s", diff)
	}
	c.golden("plan-sandbox-markdown", c.sandbox("plan", "-f", example, "--format", "markdown").wantCode(t, 0))

	c.golden("apply-sandbox", c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0))
	if n := len(c.bindings()); n != 8 {
		t.Errorf("state has %d bindings after apply, want 8", n)
	}
	// Only the drift on legacy-room (a member nobody can remove) is left.
	c.golden("plan-after-apply", c.sandbox("plan", "-f", example, "--detailed-exitcode").wantCode(t, 3))
	again := c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	if !strings.Contains(again.stdout, "Nothing to apply.") {
		t.Errorf("second apply:\n%s", again.stdout)
	}
}

func TestCLIPlanJSON(t *testing.T) {
	c := newCLI(t)
	r := c.sandbox("plan", "-f", example, "--format", "json").wantCode(t, 0)
	var doc struct {
		FormatVersion *int `json:"formatVersion"`
		Groups        []struct {
			Key    string `json:"key"`
			Action string `json:"action"`
		} `json:"groups"`
		Summary struct {
			Create int `json:"create"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("plan --format json is not JSON: %v\n%s", err, r.stdout)
	}
	if doc.FormatVersion == nil || *doc.FormatVersion != 1 || len(doc.Groups) != 8 || doc.Summary.Create != 6 {
		t.Errorf("json plan: %+v", doc)
	}
	c.golden("plan-sandbox-json", r)
}

func TestCLIApplyRefusals(t *testing.T) {
	t.Run("no terminal and no --auto-approve", func(t *testing.T) {
		c := newCLI(t)
		r := c.sandbox("apply", "-f", example).wantCode(t, 1)
		// One error, with what to do, not a second "apply cancelled".
		want := "groupsync: apply needs --auto-approve when not run from a terminal; nothing was changed\nhint: "
		if !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "groupsync:") != 1 {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		c.checkUntouched()
	})
	t.Run("more new groups than --max-new-groups", func(t *testing.T) {
		c := newCLI(t)
		r := c.sandbox("apply", "-f", example, "--auto-approve", "--max-new-groups", "1").wantCode(t, 1)
		c.golden("apply-max-new-groups", r)
		c.checkUntouched()
	})
}

func TestCLIApplyOnATerminal(t *testing.T) {
	sandbox := func(c *cli) []string {
		return []string{"apply", "--sandbox", "--state", c.state, "-f", example}
	}
	t.Run("answered no", func(t *testing.T) {
		c := newCLI(t)
		r := c.runOn(true, "no\n", sandbox(c)...).wantCode(t, 1)
		if !strings.Contains(r.stdout, "Apply these changes? Only 'yes' is accepted: ") || !strings.Contains(r.stderr, "apply cancelled") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
		c.checkUntouched()
	})
	t.Run("answered yes", func(t *testing.T) {
		c := newCLI(t)
		r := c.runOn(true, "yes\n", sandbox(c)...).wantCode(t, 0)
		if !strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("no colour on a terminal:\n%q", r.stdout)
		}
		if !strings.Contains(r.stderr, "\rApplying: 8/8 groups") || strings.Contains(r.stderr, "group applied") {
			t.Errorf("progress on a terminal is a live count, not log lines:\n%q", r.stderr)
		}
		if n := len(c.bindings()); n != 8 {
			t.Errorf("state has %d bindings, want 8", n)
		}
	})
	t.Run("NO_COLOR", func(t *testing.T) {
		c := newCLI(t)
		c.env["NO_COLOR"] = ""
		r := c.runOn(true, "", "plan", "--sandbox", "--state", c.state, "-f", example).wantCode(t, 0)
		if strings.Contains(r.stdout, "\x1b[") {
			t.Errorf("colour with NO_COLOR set:\n%q", r.stdout)
		}
	})
}

func TestCLIApplyLocked(t *testing.T) {
	c := newCLI(t)
	st := c.open()
	unlock, err := st.Lock(context.Background(), "groupsync apply", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r := c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 1)
	if !strings.Contains(r.stderr, "is locked by PID") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	c.sandbox("plan", "-f", example).wantCode(t, 0) // plan needs no lock
	unlock()
	c.checkUntouched()
}

// checkUntouched checks that nothing was bound, journaled or created.
func (c *cli) checkUntouched() {
	c.t.Helper()
	if b := c.bindings(); len(b) != 0 {
		c.t.Errorf("state has bindings: %v", b)
	}
	st := c.open()
	intents, err := st.OpenIntents(context.Background())
	if err != nil || len(intents) != 0 {
		c.t.Errorf("open intents %v (%v)", intents, err)
	}
	if diff := cmp.Diff(seededOnly, c.sandboxGroups()); diff != "" {
		c.t.Errorf("the sandbox world changed (-want +got):\n%s", diff)
	}
}

func TestCLISavedPlan(t *testing.T) {
	// The manifest is copied, so that it can change under a saved plan.
	setup := func(t *testing.T) (*cli, string, string) {
		c := newCLI(t)
		data, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		manifest := filepath.Join(c.dir, "groups.yaml")
		if err := os.WriteFile(manifest, data, 0o600); err != nil {
			t.Fatal(err)
		}
		planFile := filepath.Join(c.dir, "plan.json")
		r := c.sandbox("plan", "-f", manifest, "--out", planFile).wantCode(t, 0)
		// The command it suggests sees the same state and the same vendors.
		if !strings.Contains(r.stderr, "Saved the plan to "+planFile+": apply it with `groupsync apply --sandbox --state "+c.state+" "+planFile+"`.") {
			t.Errorf("plan --out stderr:\n%s", r.stderr)
		}
		return c, manifest, planFile
	}
	t.Run("applied as saved", func(t *testing.T) {
		c, manifest, planFile := setup(t)
		c.golden("apply-saved-plan", c.sandbox("apply", planFile).wantCode(t, 0))
		if n := len(c.bindings()); n != 8 {
			t.Errorf("state has %d bindings, want 8", n)
		}
		c.sandbox("plan", "-f", manifest, "--detailed-exitcode").wantCode(t, 3)
		// Applied once, a saved plan is stale.
		r := c.sandbox("apply", planFile).wantCode(t, 1)
		if !strings.Contains(r.stderr, "the state changed since the plan was saved") {
			t.Errorf("second apply of the plan:\n%s", r.stderr)
		}
	})
	t.Run("manifest changed", func(t *testing.T) {
		c, manifest, planFile := setup(t)
		f, err := os.OpenFile(manifest, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, "# a comment changes the digest")
		f.Close()
		r := c.sandbox("apply", planFile).wantCode(t, 1)
		c.golden("apply-saved-plan-manifest-changed", r)
		c.checkUntouched()
	})
	t.Run("from another directory", func(t *testing.T) {
		// Planned with a relative -f in the manifest's directory, applied
		// from elsewhere: the plan names the manifest absolutely.
		c := newCLI(t)
		data, err := os.ReadFile(example)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.dir, "groups.yaml"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		planFile := filepath.Join(c.dir, "plan.json")
		t.Chdir(c.dir)
		c.sandbox("plan", "-f", "groups.yaml", "--out", planFile).wantCode(t, 0)
		p, err := readPlan(planFile)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{filepath.Join(c.dir, "groups.yaml")}; !slices.Equal(p.ManifestFiles, want) {
			t.Errorf("saved plan names manifests %q, want %q", p.ManifestFiles, want)
		}
		t.Chdir(t.TempDir())
		r := c.sandbox("apply", planFile).wantCode(t, 0)
		if !strings.Contains(r.stdout, "Apply complete") {
			t.Errorf("apply of the saved plan from another directory:\n%s", r.stdout)
		}
	})
	t.Run("state changed", func(t *testing.T) {
		c, _, planFile := setup(t)
		c.run("state", "import", "stray", "5bee7172e4b0f6bbaa32b4bf", "--provider", "kingdee", "--state", c.state).wantCode(t, 0)
		r := c.sandbox("apply", planFile).wantCode(t, 1)
		c.golden("apply-saved-plan-state-changed", r)
		if b := c.bindings(); len(b) != 1 {
			t.Errorf("bindings %v, want only the import", b)
		}
	})
}

func TestCLIPlanFromCache(t *testing.T) {
	c := newCLI(t)
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	world, err := os.ReadFile(sandboxPath(c.state))
	if err != nil {
		t.Fatal(err)
	}
	// No --sandbox and no token variable: any vendor call would fail.
	r := c.run("plan", "-f", example, "--state", c.state, "--refresh=false", "--detailed-exitcode").wantCode(t, 3)
	c.golden("plan-from-cache", r)
	after, err := os.ReadFile(sandboxPath(c.state))
	if err != nil || !bytes.Equal(world, after) {
		t.Errorf("plan --refresh=false touched the sandbox world (%v)", err)
	}
	// The same without --refresh=false needs the tokens.
	r = c.run("plan", "-f", example, "--state", c.state).wantCode(t, 1)
	if !strings.Contains(r.stderr, "environment variable") {
		t.Errorf("a refreshing plan without tokens:\n%s", r.stderr)
	}
}

func TestCLIState(t *testing.T) {
	c := newCLI(t)
	// A missing state file is an error, not an empty state: --state may be mistyped.
	c.golden("state-list-missing", c.run("state", "list", "--state", c.state).wantCode(t, 1))
	if _, err := os.Stat(c.state); !os.IsNotExist(err) {
		t.Errorf("state list created the state file: %v", err)
	}
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	st := func(args ...string) result {
		return c.run(append([]string{"state", "--state", c.state}, args...)...)
	}
	c.golden("state-list", st("list").wantCode(t, 0))
	c.golden("state-show", st("show", "release-crew").wantCode(t, 0))
	st("show", "nobody").wantCode(t, 1)

	// forget: asks, and refuses without a terminal unless --yes.
	r := st("forget", "it-helpdesk").wantCode(t, 1)
	if !strings.Contains(r.stderr, "--yes") {
		t.Errorf("forget without --yes:\n%s", r.stderr)
	}
	c.golden("state-forget", st("forget", "it-helpdesk", "--yes").wantCode(t, 0))
	if _, ok := c.bindings()["it-helpdesk"]; ok {
		t.Errorf("it-helpdesk still bound after forget")
	}

	// import: binds a key, and closes its lost create.
	c.golden("state-import", st("import", "ops-room", "5bee7172e4b0f6bbaa32b4c0", "--provider", "kingdee").wantCode(t, 0))
	if b := c.bindings()["ops-room"]; b.GroupID != "5bee7172e4b0f6bbaa32b4c0" || b.Origin != state.OriginImported {
		t.Errorf("ops-room binding = %+v", b)
	}
	// A group another key holds is refused: two keys on one group would act twice.
	r = st("import", "other-room", "5bee7172e4b0f6bbaa32b4bf", "--provider", "kingdee").wantCode(t, 1)
	if !strings.Contains(r.stderr, "already bound to key legacy-room") {
		t.Errorf("import of a bound group:\n%s", r.stderr)
	}
	if _, ok := c.bindings()["other-room"]; ok {
		t.Errorf("other-room bound to a group legacy-room holds")
	}
	st("import", "x", "1").wantCode(t, 1)

	// The id must be a vendor's group id: any vendor's without -f, the
	// provider's vendor's with it; -f also checks the provider.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "x", "not-a-hex-id", "--provider", "kingdee"}, `"not-a-hex-id" is not a group id of any vendor (yunzhijia: 24 hexadecimal digits; lunkr: a decimal number; wecom: a chatid: 1–32 of [0-9a-zA-Z])`},
		{[]string{"import", "x", "abc&accessToken=evil", "--provider", "coremail", "-f", example}, `"abc&accessToken=evil" is not a lunkr group id (a decimal number), as provider coremail needs`},
		{[]string{"import", "x", "10042", "--provider", "kingdee", "-f", example}, `"10042" is not a yunzhijia group id (24 hexadecimal digits), as provider kingdee needs`},
		{[]string{"import", "x", "10042", "--provider", "nosuch", "-f", example}, `the manifest has no provider "nosuch" (it has: coremail, kingdee, wework)`},
		{[]string{"import", "release-crew", "10042", "--provider", "coremail", "-f", example}, "the manifest's group release-crew is on provider kingdee, not coremail"},
	} {
		r := st(tc.args...).wantCode(t, 1)
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("state %s:\n%s\nwant %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
	if _, ok := c.bindings()["x"]; ok {
		t.Errorf("a refused import bound x")
	}
	// A key bound to another group is rebound only with --force, and the
	// refusal says what it was bound to.
	was := c.bindings()["ops-room"].GroupID
	r = st("import", "ops-room", "5BEE7172E4B0F6BBAA32B4C1", "--provider", "kingdee", "-f", example).wantCode(t, 1)
	if want := "ops-room is already bound to kingdee group " + was + " (imported at "; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--force") {
		t.Errorf("rebind without --force:\n%s\nwant %q and a --force hint", r.stderr, want)
	}
	if got := c.bindings()["ops-room"].GroupID; got != was {
		t.Fatalf("a refused rebind changed ops-room to %s", got)
	}
	r = st("import", "ops-room", was, "--provider", "kingdee").wantCode(t, 0)
	if !strings.Contains(r.stdout, "already bound to kingdee group "+was+": nothing to do") {
		t.Errorf("import of the bound group:\n%s", r.stdout)
	}
	r = st("import", "ops-room", "5BEE7172E4B0F6BBAA32B4C1", "--provider", "kingdee", "--force").wantCode(t, 0)
	if got := c.bindings()["ops-room"].GroupID; got != "5bee7172e4b0f6bbaa32b4c1" || !strings.Contains(r.stdout, "was kingdee group "+was) {
		t.Errorf("rebind with --force: bound to %s\n%s", got, r.stdout)
	}
	st("import", "ops-room", was, "--provider", "kingdee", "--force").wantCode(t, 0)

	// resolve: settle notices whose answer was lost, as a crash would leave them.
	store := c.open()
	ctx := context.Background()
	groupID := c.bindings()["release-crew"].GroupID
	for _, h := range []string{"h1", "h2"} {
		if _, err := store.BeginIntent(ctx, state.Intent{Key: "release-crew", Provider: "kingdee", Kind: state.IntentNotice, Name: "通知 " + h, Hash: h, GroupID: groupID}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	c.golden("state-show-pending", st("show", "release-crew").wantCode(t, 0))
	// Two open: one verdict for both could be wrong; --hash says which.
	c.golden("state-resolve-needs-hash", st("resolve", "release-crew", "posted").wantCode(t, 1))
	c.golden("state-resolve", st("resolve", "release-crew", "posted", "--hash", "h1").wantCode(t, 0))
	st("resolve", "release-crew", "posted", "--hash", "h2").wantCode(t, 0)
	r = st("resolve", "release-crew", "posted").wantCode(t, 1) // nothing left to resolve
	if !strings.Contains(r.stderr, "\nhint: groupsync state show release-crew") {
		t.Errorf("resolve with nothing to resolve:\n%s", r.stderr)
	}
	r = st("forget", "nobody", "--yes").wantCode(t, 1)
	if r.stderr != "groupsync: the state knows no group \"nobody\": nothing to forget\nhint: groupsync state list shows the keys it knows (is --state the right file?)\n" {
		t.Errorf("forget of an unknown key:\n%s", r.stderr)
	}
	st("resolve", "release-crew", "maybe").wantCode(t, 1)
	store = c.open()
	posts, err := store.Posts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, p := range posts["release-crew"] {
		hashes = append(hashes, p.Hash)
	}
	if !slices.Contains(hashes, "h1") || !slices.Contains(hashes, "h2") {
		t.Errorf("posts after resolve posted: %v", hashes)
	}

	st("frobnicate").wantCode(t, 1)
	st().wantCode(t, 1)
}

// A crash while release-crew's create was in flight leaves its intent open:
// the group is blocked, the others are applied, and `state forget` lets it
// be created again.
func TestCLIUnknownCreate(t *testing.T) {
	c := newCLI(t)
	store := c.open()
	// Long ago: it has settled, and the vendor would have made the group by now.
	long := time.Now().Add(-time.Hour)
	if _, err := store.BeginIntent(context.Background(), state.Intent{Key: "release-crew", Provider: "kingdee", Kind: state.IntentCreate, Name: "发布讨论组", StartedAt: long}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	c.golden("plan-unknown-create", c.sandbox("plan", "-f", example, "--detailed-exitcode").wantCode(t, 1))
	r := c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 1)
	// "0 groups failed" and exit 1: the result says which group was left and why.
	if !strings.Contains(r.stdout, "; 0 groups failed.\nNot applied, for an error shown in the plan: release-crew.\n") {
		t.Errorf("apply with a blocked group:\n%s", r.stdout)
	}
	if b := c.bindings(); len(b) != 7 || b["release-crew"].GroupID != "" {
		t.Errorf("bindings after apply: %v, want all but release-crew", b)
	}
	if groups := c.sandboxGroups()["yunzhijia"]; len(groups) != 2 {
		t.Errorf("yunzhijia groups %v, want legacy-room and it-helpdesk only\n%s", groups, r.stdout)
	}
	show := c.run("state", "show", "release-crew", "--state", c.state).wantCode(t, 0)
	if !strings.Contains(show.stdout, `pending:   create "发布讨论组" sent at`) {
		t.Errorf("state show:\n%s", show.stdout)
	}
	c.run("state", "forget", "release-crew", "--yes", "--state", c.state).wantCode(t, 0)
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	c.sandbox("plan", "-f", example, "--detailed-exitcode").wantCode(t, 3)
	if n := len(c.sandboxGroups()["yunzhijia"]); n != 3 {
		t.Errorf("%d yunzhijia groups, want 3", n)
	}
}

func TestCLIHelpAndUnknownCommand(t *testing.T) {
	c := newCLI(t)
	c.golden("help", c.run("--help").wantCode(t, 0))
	for _, cmd := range commands() {
		r := c.run(cmd.name, "--help").wantCode(t, 0)
		// Asked for, the usage goes to stdout (groupsync plan --help | less).
		if !strings.Contains(r.stdout, "Usage: groupsync "+cmd.name) || !strings.Contains(r.stdout, "Example:") || r.stderr != "" {
			t.Errorf("%s --help:\nstdout:\n%s\nstderr:\n%s", cmd.name, r.stdout, r.stderr)
		}
	}
	c.golden("plan-help", c.run("plan", "--help").wantCode(t, 0))
	c.golden("unknown-command", c.run("frobnicate").wantCode(t, 1))
	c.run().wantCode(t, 1)
	// A wrong flag is one error naming it, with a hint, said once and
	// without the whole usage.
	r := c.run("plan", "--no-such-flag", "-f", example).wantCode(t, 1)
	want := "groupsync: plan: flag provided but not defined: -no-such-flag\nhint: run 'groupsync plan --help' for its flags\n"
	if r.stderr != want || r.stdout != "" {
		t.Errorf("unknown flag:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// "--" ends the flags: every argument after it is positional.
func TestParseArgsDoubleDash(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard}
	fs := a.newFlagSet("x", "x", "x")
	v := fs.Bool("v", false, "")
	pos, err := a.parseArgs(fs, []string{"a", "-v", "--", "-b", "-c"})
	if err != nil || !*v || !slices.Equal(pos, []string{"a", "-b", "-c"}) {
		t.Errorf("pos %q, -v %v, err %v", pos, *v, err)
	}
}

// Negative limits are flag errors, as in `run`: a negative --max-new-groups
// would refuse every create with a nonsensical message, and a negative
// --lock-timeout was taken as "fail at once".
func TestCLIApplyFlagErrors(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--max-new-groups", "-1", "--max-new-groups: must not be negative, got -1"},
		{"--lock-timeout", "-5s", "--lock-timeout: must not be negative, got -5s"},
		{"--lock-stale", "0s", "--lock-stale: must be positive, got 0s"},
	} {
		c := newCLI(t)
		r := c.sandbox("apply", "-f", example, "--auto-approve", tc.flag, tc.value).wantCode(t, 1)
		if !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%s %s:\nstdout:\n%s\nstderr:\n%s", tc.flag, tc.value, r.stdout, r.stderr)
		}
		if _, err := os.Stat(c.state); err == nil {
			t.Errorf("%s %s: a flag error created the state file", tc.flag, tc.value)
		}
	}
}

// validate and plan take manifests as arguments, so `apply groups.yaml` is
// an easy slip: it says to use -f, not that '#' is bad JSON.
func TestCLIApplyManifestAsPlanFile(t *testing.T) {
	c := newCLI(t)
	for _, path := range []string{example, filepath.Dir(example)} {
		r := c.run("apply", "--state", c.state, path).wantCode(t, 1)
		if !strings.Contains(r.stderr, "not a saved plan") || !strings.Contains(r.stderr, "\nhint: to apply") || !strings.Contains(r.stderr, "groupsync apply -f "+path) {
			t.Errorf("apply %s:\n%s", path, r.stderr)
		}
	}
	if _, err := os.Stat(c.state); err == nil {
		t.Error("apply of a manifest as a plan created the state file")
	}
}

// An interrupted apply says which groups were partly applied and what was
// done, not "not applied" for a group it created, and how to finish.
func TestPrintResultInterrupted(t *testing.T) {
	p := &reconcile.Plan{Groups: []reconcile.GroupPlan{{Key: "a"}, {Key: "b"}}}
	res := &reconcile.Result{Canceled: true, Created: 1, Notices: 1, Groups: []reconcile.GroupResult{
		{Key: "a", Created: true, Notices: 1, Canceled: true},
		{Key: "b", Canceled: true},
	}}
	var b bytes.Buffer
	(&app{}).printResult(&b, p, res)
	want := "- a: partly applied (group created, 1 notice posted), then interrupted: the rest was not sent\n" +
		"- b: not applied (interrupted)\n" +
		"\nApply interrupted: 1 group created, 0 members added, 1 notice, 0 banners posted, 0 bindings recorded; 0 groups failed.\n" +
		"Run `groupsync apply` again to finish: what was done is recorded and will not be repeated.\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A secret variable that is not set is reported with what to do, before the
// state file is opened: nothing is written.
func TestCLIMissingTokenWritesNothing(t *testing.T) {
	for _, args := range [][]string{{"plan"}, {"apply", "--auto-approve"}} {
		c := newCLI(t)
		r := c.run(append(args, "-f", example, "--state", c.state)...).wantCode(t, 1)
		want := "groupsync: provider coremail: auth.clientSecret: environment variable LUNKR_APP_SECRET is not set\nhint: export LUNKR_APP_SECRET with provider coremail's app secret, or add --sandbox"
		if !strings.HasPrefix(r.stderr, want) || r.stdout != "" {
			t.Errorf("%s:\nstdout:\n%s\nstderr:\n%s", args[0], r.stdout, r.stderr)
		}
		if _, err := os.Stat(c.state); err == nil {
			t.Errorf("%s without a token created the state file", args[0])
		}
	}
}

func TestCLIValidateCounts(t *testing.T) {
	c := newCLI(t)
	path := filepath.Join(c.dir, "one.yaml")
	manifest := `version: 1
providers:
  kingdee: {vendor: yunzhijia, token: "${YZJ_TOKEN}", operator: alice}
people:
  alice: {yunzhijia: 5b503ee9e4b02abb5318b23e}
groups:
  - {key: crew, provider: kingdee, members: [alice]}
`
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.run("validate", "-f", path).wantCode(t, 0)
	if want := "1 manifest file: 1 provider, 1 person, 1 group: valid\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if _, err := os.Stat(c.state); !os.IsNotExist(err) {
		t.Errorf("validate touched the state file: %v", err)
	}
}

// TestCLIStateUnlock: the "locked" error names the lock id and the exact
// unlock command; `state unlock` refuses a wrong id (naming the lock that is
// there), asks on a terminal, needs --yes otherwise, and clears the lock.
func TestCLIStateUnlock(t *testing.T) {
	c := newCLI(t)
	st := c.open()
	ctx := context.Background()
	unlock, err := st.Lock(ctx, "groupsync run", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	info, _, err := st.LockHolder(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 1)
	for _, want := range []string{"lock id " + info.ID, fmt.Sprintf("PID %d on host %s", info.PID, info.Host),
		"`groupsync state unlock " + info.ID + " --state " + c.state + "`"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the locked error does not say %q:\n%s", want, r.stderr)
		}
	}

	r = c.run("state", "unlock", "0123456789abcdef", "--state", c.state, "--yes").wantCode(t, 1)
	if !strings.Contains(r.stderr, "locked with lock id "+info.ID+", not 0123456789abcdef") {
		t.Errorf("a wrong id is not refused with the current lock:\n%s", r.stderr)
	}
	r = c.run("state", "unlock", info.ID, "--state", c.state).wantCode(t, 1)
	if !strings.Contains(r.stderr, "--yes") {
		t.Errorf("unlock without a terminal or --yes:\n%s", r.stderr)
	}
	r = c.runOn(true, "no\n", "state", "unlock", info.ID, "--state", c.state).wantCode(t, 1)
	if !strings.Contains(r.stdout, "Clear lock "+info.ID) || !strings.Contains(r.stderr, "cancelled") {
		t.Errorf("unlock answered no:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	if _, held, _ := st.LockHolder(ctx); !held {
		t.Fatal("a refused unlock cleared the lock")
	}
	r = c.runOn(true, "yes\n", "state", "unlock", info.ID, "--state", c.state).wantCode(t, 0)
	if !strings.Contains(r.stdout, "Cleared lock "+info.ID) {
		t.Errorf("unlock:\n%s", r.stdout)
	}
	if _, held, _ := st.LockHolder(ctx); held {
		t.Fatal("the lock is still held after state unlock")
	}
	r = c.run("state", "unlock", info.ID, "--state", c.state, "--yes").wantCode(t, 1)
	if !strings.Contains(r.stderr, "is not locked") {
		t.Errorf("unlock of a free lock:\n%s", r.stderr)
	}
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
}

// cancelOn cancels when a line written to it contains word: an interrupt
// at a known point of an apply.
type cancelOn struct {
	buf    bytes.Buffer
	word   string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if bytes.Contains(p, []byte(w.word)) {
		w.cancel()
	}
	return len(p), nil
}

// TestCLIApplyInterrupted: an apply interrupted (SIGINT/SIGTERM cancel its
// context) after its first group exits 1, says what was done and to apply
// again; the next apply finishes the rest.
func TestCLIApplyInterrupted(t *testing.T) {
	c := newCLI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &cancelOn{word: "group applied", cancel: cancel}
	a := &app{stdin: strings.NewReader(""), stdout: &stdout, stderr: stderr,
		getenv: func(string) (string, bool) { return "", false }}
	code := a.run(ctx, []string{"apply", "--sandbox", "--state", c.state, "--parallelism", "1", "-f", example, "--auto-approve"})
	if code != 1 {
		t.Errorf("interrupted apply: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.buf.String())
	}
	for _, want := range []string{"\nApply interrupted: ", "not applied (interrupted)", "Run `groupsync apply` again to finish"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("interrupted apply does not say %q:\n%s", want, stdout.String())
		}
	}
	if n := len(c.bindings()); n == 0 || n == 8 {
		t.Errorf("state has %d bindings after the interrupt, want some of 8", n)
	}
	r := c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	if !strings.Contains(r.stdout, "Apply complete: ") {
		t.Errorf("the apply after the interrupt:\n%s", r.stdout)
	}
	if n := len(c.bindings()); n != 8 {
		t.Errorf("state has %d bindings after the second apply, want 8", n)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/reconcile"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// exportEnv is both vendors' simulators over real HTTP with groups made
// outside groupsync, and a manifest of the providers and people only.
type exportEnv struct {
	*cli
	yzj       *yunzhijia.Simulator
	lk        *lunkr.Simulator
	providers string
}

const exportToken = "export-tok/+=="

func newExportEnv(t *testing.T) *exportEnv {
	e := &exportEnv{cli: newCLI(t), yzj: yunzhijia.NewSimulator(exportToken), lk: lunkr.NewSimulator(exportToken)}
	ys, ls := httptest.NewServer(e.yzj), httptest.NewServer(e.lk)
	t.Cleanup(ys.Close)
	t.Cleanup(ls.Close)
	e.env["TOK"] = exportToken
	e.providers = filepath.Join(e.dir, "providers.yaml")
	text := fmt.Sprintf(`version: 1
providers:
  kingdee: {vendor: yunzhijia, endpoint: "%s/", token: "${TOK}", operator: erin, read: full}
  coremail: {vendor: lunkr, endpoint: "%s/", token: "${TOK}"}
people:
  alice: {yunzhijia: 5b503ee9e4b02abb5318b23e, lunkr: alice@example.com}
  erin:  {yunzhijia: 5b90c663e4b0216ee04a768c, lunkr: erin@example.com}
groups: []
`, ys.URL, ls.URL)
	if err := os.WriteFile(e.providers, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	const alice, erin, other = "5b503ee9e4b02abb5318b23e", "5b90c663e4b0216ee04a768c", "5bee6706e4b073e587c144ae"
	e.yzj.SeedGroup(vendors.Group{ID: "5c00000000000000000000a1", Name: "Design review", Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: erin}, {ID: other}}})
	e.yzj.SeedGroup(vendors.Group{ID: "5c00000000000000000000a2", Name: "发布讨论组", Managers: []string{erin},
		Members: []vendors.LiveMember{{ID: erin}, {ID: other}}})
	e.lk.SeedGroup(vendors.Group{ID: "20001", Name: "Lunch club", Members: []vendors.LiveMember{
		{Email: "alice@example.com"}, {Email: "chef@canteen.example.com"}}})
	e.lk.SeedGroup(vendors.Group{ID: "20002", Name: "运维广播", Type: "sysTopic", Members: []vendors.LiveMember{{Email: "erin@example.com"}},
		Subscribers: []vendors.LiveMember{{Email: "alice@example.com"}, {Email: "dave@example.com"}}})
	return e
}

func (e *exportEnv) cmd(args ...string) result {
	e.t.Helper()
	return e.run(append(args, "--state", e.state)...)
}

// writes counts the simulators' calls that are not reads.
func (e *exportEnv) writes() map[string]int {
	out := map[string]int{}
	for _, calls := range []map[string]int{e.yzj.Calls(), e.lk.Calls()} {
		for call, n := range calls {
			switch call {
			case lunkr.CallInfo, lunkr.CallList, yunzhijia.CallGroupUsers, yunzhijia.CallGroupInfo:
			default:
				if n > 0 {
					out[call] = n
				}
			}
		}
	}
	return out
}

// The promise of SPEC 7.3, end to end through the CLI for both vendors:
// export writes no state and makes no write call; a plan of the providers
// plus the export only adopts; the apply that records those bindings makes
// no vendor write; the next plan --detailed-exitcode exits 0. An export of
// the same groups from the state then writes the same manifest.
func TestCLIExportRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		vendor string
		args   []string
		groups int
	}{
		{"lunkr", []string{"--provider", "coremail", "--member", "alice", "--member", "erin@example.com"}, 2}, // a handle or an id
		{"yunzhijia", []string{"--provider", "kingdee", "--group-id", "5c00000000000000000000a1", "--group-id", "5c00000000000000000000a2"}, 2},
	} {
		t.Run(tc.vendor, func(t *testing.T) {
			e := newExportEnv(t)
			out := filepath.Join(e.dir, "exported.yaml")
			r := e.cmd(append([]string{"export", "-f", e.providers, "-o", out}, tc.args...)...).wantCode(t, 0)
			if !strings.Contains(r.stderr, fmt.Sprintf("Exported %d groups of provider", tc.groups)) {
				t.Errorf("stderr:\n%s", r.stderr)
			}
			if _, err := os.Stat(e.state); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("export created the state file (%v)", err)
			}
			if w := e.writes(); len(w) > 0 {
				t.Fatalf("export made write calls: %v", w)
			}
			exported, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}

			r = e.cmd("plan", "-f", e.providers, "-f", out, "--format", "json", "--detailed-exitcode").wantCode(t, exitChanges)
			var p reconcile.Plan
			if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
				t.Fatal(err)
			}
			if want := (reconcile.Summary{Adopt: tc.groups, StateWrites: tc.groups}); p.Summary != want {
				t.Fatalf("plan summary %+v, want only adoptions %+v\n%s", p.Summary, want, exported)
			}
			r = e.cmd("apply", "-f", e.providers, "-f", out, "--auto-approve").wantCode(t, 0)
			if w := e.writes(); len(w) > 0 {
				t.Fatalf("the apply of the export made write calls: %v\n%s", w, r.stdout)
			}
			e.cmd("plan", "-f", e.providers, "-f", out, "--detailed-exitcode").wantCode(t, 0)

			// Read-only with a state too: not a byte of it changes.
			before, err := os.ReadFile(e.state)
			if err != nil {
				t.Fatal(err)
			}
			again := e.cmd("export", "-f", e.providers, "--provider", tc.args[1], "--from-state").wantCode(t, 0)
			after, err := os.ReadFile(e.state)
			if err != nil || !bytes.Equal(before, after) {
				t.Errorf("export changed the state file (%v)", err)
			}
			// The state's keys are kept: the same manifest, but for the header.
			if body(again.stdout) != body(string(exported)) {
				t.Errorf("export --from-state:\n%s\nwant as exported:\n%s", again.stdout, exported)
			}
			if w := e.writes(); len(w) > 0 {
				t.Fatalf("write calls: %v", w)
			}
		})
	}
}

// body is an exported manifest without its header comment.
func body(s string) string {
	_, b, _ := strings.Cut(s, "\nversion: 1\n")
	return b
}

// A group that cannot be read is left out, listed at the end of the
// manifest and on stderr, and the export exits 1 with the rest written.
func TestCLIExportUnreadable(t *testing.T) {
	e := newExportEnv(t)
	r := e.cmd("export", "-f", e.providers, "--provider", "kingdee",
		"--group-id", "5c00000000000000000000a1", "--group-id", "5c00000000000000000000ff").wantCode(t, 1)
	if !strings.Contains(r.stdout, "groupId: 5c00000000000000000000a1\n") ||
		!strings.Contains(r.stdout, "\n#   group 5c00000000000000000000ff: yunzhijia groupUsers: not found") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	for _, want := range []string{
		"groupsync: group 5c00000000000000000000ff: yunzhijia groupUsers: not found",
		"groupsync: 1 failure, listed at the end of the manifest too; the rest was written",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	r = e.cmd("export", "-f", e.providers, "--provider", "kingdee", "--member", "alice").wantCode(t, 1)
	if !strings.Contains(r.stderr, "yunzhijia cannot list the groups of a user: name its groups with --group-id or --from-state") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	r = e.cmd("export", "-f", e.providers, "--provider", "coremail", "--from-state").wantCode(t, 1)
	if !strings.Contains(r.stderr, "--from-state: there is no state file") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if _, err := os.Stat(e.state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("export created the state file (%v)", err)
	}
}

// With --with-providers the export stands alone: planned by itself, it
// only adopts. On a terminal the reads are counted.
func TestCLIExportWithProviders(t *testing.T) {
	e := newExportEnv(t)
	out := filepath.Join(e.dir, "alone.yaml")
	r := e.runOn(true, "", "export", "-f", e.providers, "--provider", "coremail", "--member", "alice@example.com",
		"--with-providers", "-o", out, "--state", e.state).wantCode(t, 0)
	if !strings.Contains(r.stderr, "\rExporting: 2/2 groups\n") {
		t.Errorf("no progress count on a terminal:\n%q", r.stderr)
	}
	r = e.cmd("plan", "-f", out, "--format", "json", "--detailed-exitcode").wantCode(t, exitChanges)
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil {
		t.Fatal(err)
	}
	if want := (reconcile.Summary{Adopt: 2, StateWrites: 2}); p.Summary != want {
		data, _ := os.ReadFile(out)
		t.Fatalf("plan summary %+v, want %+v\n%s", p.Summary, want, data)
	}
}

// The README's command: before any apply the sandbox world has no Lunkr
// group, after the newcomer's apply alice is in two; both are managed by
// the example, so --skip-managed leaves them out.
func TestCLIExportSandbox(t *testing.T) {
	c := newCLI(t)
	args := []string{"--provider", "coremail", "--member", "alice@example.com", "-f", example}
	r := c.sandbox("export", args...).wantCode(t, 0)
	if !strings.Contains(r.stdout, "# 0 groups.\n") {
		t.Errorf("before an apply:\n%s", r.stdout)
	}
	if _, err := os.Stat(c.state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("export created the state file (%v)", err)
	}
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	r = c.sandbox("export", args...).wantCode(t, 0)
	c.golden("export-sandbox", r)
	r = c.sandbox("export", append(args, "--skip-managed")...).wantCode(t, 0)
	if !strings.Contains(r.stdout, "# 0 groups (2 already managed in the -f manifests left out).") {
		t.Errorf("--skip-managed:\n%s", r.stdout)
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
)

// countLoads counts the whole loads of a manifest (spec.Load, or one
// finished from its heads) until the test ends.
func countLoads(t *testing.T) *int {
	n := new(int)
	loadManifest = func(paths ...string) (*spec.Manifest, error) {
		*n++
		return spec.Load(paths...)
	}
	finishLoad = func(h *spec.Heads) (*spec.Manifest, error) {
		*n++
		return h.Load()
	}
	t.Cleanup(func() { loadManifest, finishLoad = spec.Load, (*spec.Heads).Load })
	return n
}

// TestSealedPlan: `apply PLANFILE` of a plan sealed in its state by the
// same groupsync checks the manifest's digest and reads only its
// providers; any other plan file is loaded and checked in full, as before,
// so an altered one is still refused.
func TestSealedPlan(t *testing.T) {
	tests := []struct {
		name      string
		otherExe  bool                                            // the plan is made by another groupsync
		edit      func(t *testing.T, e *authEnv, planFile string) // between plan and apply
		wantCode  int
		wantLoads int    // by the apply
		wantErr   string // in the apply's output
	}{
		{name: "sealed", wantCode: exitOK, wantLoads: 0},
		{name: "made by another groupsync", otherExe: true, wantCode: exitOK, wantLoads: 1},
		{name: "a space added", edit: func(t *testing.T, _ *authEnv, planFile string) {
			appendFile(t, planFile, " ")
		}, wantCode: exitOK, wantLoads: 1},
		{name: "a member added to a create", edit: func(t *testing.T, _ *authEnv, planFile string) {
			editPlanFile(t, planFile, func(p map[string]any) {
				for _, g := range p["groups"].([]any) {
					if g := g.(map[string]any); g["key"] == "g1" {
						c := g["create"].(map[string]any)
						c["members"] = append(c["members"].([]any), map[string]any{"id": "5bee6706e4b073e587c144ae"})
					}
				}
			})
		}, wantCode: exitError, wantLoads: 1, wantErr: "does what its manifest does not ask for (was it edited?)"},
		{name: "the manifest changed", edit: func(t *testing.T, e *authEnv, _ string) {
			appendFile(t, e.manifest, "# a comment\n")
		}, wantCode: exitError, wantLoads: 1, wantErr: "the manifest changed since the plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAuthEnv(t, time.Hour)
			if tt.otherExe {
				executableID = func() (string, error) { return "another groupsync", nil }
				defer func() { executableID = realExecutableID }() // should the plan fail
			}
			planFile := e.savePlan(3)
			executableID = realExecutableID
			if strings.Contains(e.output(), "not sealed") {
				t.Fatalf("plan:\n%s", e.output())
			}
			if tt.edit != nil {
				tt.edit(t, e, planFile)
			}
			loads := countLoads(t)
			e.stdout.b.Reset()
			e.stderr.b.Reset()
			code := e.a.run(t.Context(), []string{"apply", planFile, "--state", e.state})
			out := e.output()
			if code != tt.wantCode {
				t.Fatalf("apply: exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			if *loads != tt.wantLoads {
				t.Errorf("the apply loaded the whole manifest %d times, want %d", *loads, tt.wantLoads)
			}
			if tt.wantErr != "" {
				if !strings.Contains(out, tt.wantErr) {
					t.Errorf("apply output:\n%s\nwant it to say %q", out, tt.wantErr)
				}
				if n := len(e.yzj.Groups()) + len(e.lk.Groups()); n != 0 {
					t.Errorf("%d groups created by a refused plan", n)
				}
				return
			}
			if n, want := len(e.yzj.Groups()), 3; n != want {
				t.Errorf("%d yunzhijia groups, want %d\n%s", n, want, out)
			}
			if n := len(e.lk.Groups()); n != 1 {
				t.Errorf("%d lunkr groups, want 1\n%s", n, out)
			}
			// Applied once: the same file again is stale.
			code = e.a.run(t.Context(), []string{"apply", planFile, "--state", e.state})
			if code != exitError || !strings.Contains(e.output(), "the state changed since the plan was saved") {
				t.Errorf("the plan applied again: exit %d\n%s", code, e.output())
			}
		})
	}
}

// realExecutableID is executableID as the program has it.
var realExecutableID = executableID

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestExecutableID: the test binary, linked by the go command, has a Go
// build id, and the id is stable.
func TestExecutableID(t *testing.T) {
	id, err := executableID()
	if err != nil {
		t.Fatal(err)
	}
	path, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if got := goBuildID(path); got == "" || id != "go:"+got || strings.Count(got, "/") != 3 {
		t.Errorf("executableID %q, build id %q; want go:<four parts>", id, got)
	}
	if goBuildID(filepath.Join(t.TempDir(), "none")) != "" {
		t.Error("a build id for a missing file")
	}
}

// TestSealChecksThePlan: a plan whose reads and serial disagree, as one
// made while another process wrote to the state may, is not sealed: the
// seal stands for the checks its apply would otherwise make.
func TestSealChecksThePlan(t *testing.T) {
	e := newAuthEnv(t, time.Hour)
	planFile := e.savePlan(3)
	p, err := readPlan(planFile)
	if err != nil {
		t.Fatal(err)
	}
	// Another process applies meanwhile: the plan's creates are done, and
	// the serial it would read now is after them.
	if code := e.run("apply", "--auto-approve"); code != exitOK {
		t.Fatalf("apply: exit %d\n%s", code, e.output())
	}
	store, err := state.Open(e.state)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	serial, err := store.Serial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p.StateSerial = serial
	m, err := spec.Load(e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	sum := []byte("the bytes of such a plan")
	e.stderr.b.Reset()
	e.a.sealPlan(t.Context(), store, m, p, planFile, sum)
	if !strings.Contains(e.stderr.String(), "note: the plan is not sealed in the state") {
		t.Errorf("stderr:\n%s\nwant the note that the plan is not sealed", e.stderr.String())
	}
	seal, err := sealOf(sum)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := store.PlanSealed(t.Context(), seal, serial); err != nil || ok {
		t.Errorf("PlanSealed = %v, %v: a plan that does not match its serial's state was sealed", ok, err)
	}
}

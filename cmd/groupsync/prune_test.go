package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pruneManifest is examples/groups.yaml with prune on legacy-room and
// another operator, so that the member the sandbox seeds there (erin) is
// an extra prune removes rather than the operator it keeps.
func pruneManifest(t *testing.T, c *cli) string {
	t.Helper()
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "operator: erin ", "operator: frank", 1)
	s = strings.Replace(s, "    owner: alice\n    members: [bob, grace]\n", "    owner: alice\n    members: [bob, grace]\n    prune: true\n", 1)
	if !strings.Contains(s, "prune: true") || !strings.Contains(s, "operator: frank") {
		t.Fatal("examples/groups.yaml changed: pruneManifest no longer applies")
	}
	path := filepath.Join(c.dir, "groups.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIPrune(t *testing.T) {
	t.Run("over --max-removals", func(t *testing.T) {
		c := newCLI(t)
		manifest := pruneManifest(t, c)
		r := c.sandbox("apply", "-f", manifest, "--auto-approve", "--max-removals", "0").wantCode(t, 1)
		c.golden("apply-max-removals", r)
		c.checkUntouched()
		if data, err := os.ReadFile(sandboxPath(c.state)); err != nil || !strings.Contains(string(data), "5b90c663e4b0216ee04a768c") {
			t.Errorf("the member over the limit is gone from the sandbox world (%v)", err)
		}
	})
	t.Run("removes within the limit", func(t *testing.T) {
		c := newCLI(t)
		manifest := pruneManifest(t, c)
		r := c.sandbox("apply", "-f", manifest, "--auto-approve").wantCode(t, 0)
		for _, want := range []string{
			"    - remove members: erin (5b90c663e4b0216ee04a768c)\n",
			"2 members to remove",
			"3 members added, 2 members removed",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("apply stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		// Removed, nothing left to do and no drift.
		c.sandbox("plan", "-f", manifest, "--detailed-exitcode").wantCode(t, 0)
	})
	t.Run("saved plan over --max-removals", func(t *testing.T) {
		c := newCLI(t)
		manifest := pruneManifest(t, c)
		planFile := filepath.Join(c.dir, "plan.json")
		c.sandbox("plan", "-f", manifest, "--out", planFile).wantCode(t, 0)
		r := c.sandbox("apply", planFile, "--max-removals", "0").wantCode(t, 1)
		if !strings.Contains(r.stderr, "the plan removes 2 members from 2 groups, more than --max-removals 0; nothing was changed") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		c.checkUntouched()
	})
	t.Run("run over --max-removals", func(t *testing.T) {
		c := newCLI(t)
		manifest := pruneManifest(t, c)
		r := c.sandbox("run", "--once", "-f", manifest, "--max-removals", "0").wantCode(t, 1)
		if !strings.Contains(r.stderr, "more than --max-removals 0; nothing was changed") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		if b := c.bindings(); len(b) != 0 {
			t.Errorf("state has bindings: %v", b)
		}
		if diff := c.sandboxGroups(); len(diff["lunkr"]) != 0 || len(diff["yunzhijia"]) != 1 {
			t.Errorf("the sandbox world changed: %v", diff)
		}
	})
	t.Run("negative limit", func(t *testing.T) {
		c := newCLI(t)
		r := c.sandbox("apply", "-f", example, "--auto-approve", "--max-removals", "-1").wantCode(t, 1)
		if !strings.Contains(r.stderr, "--max-removals: must not be negative, got -1") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
	})
}

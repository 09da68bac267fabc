package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// savedPlanSetup makes a plan of a copy of the example on a fresh state
// and saves it.
func savedPlanSetup(t *testing.T) (c *cli, manifest, planFile string) {
	t.Helper()
	c = newCLI(t)
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	manifest = filepath.Join(c.dir, "groups.yaml")
	if err := os.WriteFile(manifest, data, 0o600); err != nil {
		t.Fatal(err)
	}
	planFile = filepath.Join(c.dir, "plan.json")
	c.sandbox("plan", "-f", manifest, "--out", planFile).wantCode(t, 0)
	return c, manifest, planFile
}

// TestCLISavedPlanOtherState replays report 2 of issue 11: a plan saved
// from one state, applied without --state, silently made and used a new
// state file; applied to another fresh state (serial 0 too), it passed the
// staleness check. Both are refused, and nothing is created.
func TestCLISavedPlanOtherState(t *testing.T) {
	t.Run("the state file does not exist", func(t *testing.T) {
		c, _, planFile := savedPlanSetup(t)
		// As `apply p.json` without --state: the default state file.
		other := filepath.Join(c.dir, "default.db")
		c.env["GROUPSYNC_STATE"] = other
		r := c.run("apply", "--sandbox", planFile).wantCode(t, 1)
		want := "groupsync: state file " + other + " does not exist, and a saved plan is applied only to the state it was made from; nothing was changed\n"
		if !strings.HasPrefix(r.stderr, want) {
			t.Errorf("stderr:\n%s\nwant it to start with:\n%s", r.stderr, want)
		}
		for _, p := range []string{other, sandboxPath(other)} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s was created (%v)", p, err)
			}
		}
		c.checkUntouched()
	})
	t.Run("another state of the same serial", func(t *testing.T) {
		c, manifest, planFile := savedPlanSetup(t)
		other := filepath.Join(c.dir, "other.db")
		c.run("plan", "--sandbox", "--state", other, "-f", manifest).wantCode(t, 0)
		r := c.run("apply", "--sandbox", "--state", other, planFile).wantCode(t, 1)
		mine, theirs := lineageOf(t, c.state), lineageOf(t, other)
		want := "groupsync: plan was made from state lineage " + mine + ", this state is " + theirs + " (" + other + "); nothing was changed\n"
		if !strings.HasPrefix(r.stderr, want) {
			t.Errorf("stderr:\n%s\nwant it to start with:\n%s", r.stderr, want)
		}
		o := &cli{t: t, dir: c.dir, state: other, env: c.env}
		o.checkUntouched()
		c.checkUntouched()
	})
	t.Run("a copy of the state is the same state", func(t *testing.T) {
		c, _, planFile := savedPlanSetup(t)
		cp := filepath.Join(c.dir, "copy.db")
		for _, suffix := range []string{"", ".sandbox.json"} {
			data, err := os.ReadFile(c.state + suffix)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cp+suffix, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c.run("apply", "--sandbox", "--state", cp, planFile).wantCode(t, 0)
	})
}

func lineageOf(t *testing.T, path string) string {
	t.Helper()
	c := &cli{t: t, state: path}
	id, err := c.open().Lineage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCLISavedPlanEdited replays report 3 of issue 11: a saved plan edited
// by hand was executed as written. Every write is now checked against the
// manifest at the plan's digest, and a plan that does anything else is
// refused before any call and any state write.
func TestCLISavedPlanEdited(t *testing.T) {
	group := func(p map[string]any, key string) map[string]any {
		for _, g := range p["groups"].([]any) {
			if g := g.(map[string]any); g["key"] == key {
				return g
			}
		}
		t.Fatalf("the plan has no group %s", key)
		return nil
	}
	member := func(handle, id string) map[string]any { return map[string]any{"handle": handle, "id": id} }
	tests := []struct {
		name string
		edit func(p map[string]any)
		want string // in the error
	}{
		{"a name changed", func(p map[string]any) {
			group(p, "release-crew")["create"].(map[string]any)["name"] = "另一个名字"
		}, `group release-crew: create name "另一个名字" is not the manifest's "发布讨论组"`},
		{"a member added to a create", func(p map[string]any) {
			c := group(p, "dev-chat")["create"].(map[string]any)
			c["members"] = append(c["members"].([]any), member("", "mallory@evil.example.com"))
		}, "group dev-chat: create members"},
		{"a member added to a group", func(p map[string]any) {
			g := group(p, "legacy-room")
			g["addMembers"] = append(g["addMembers"].([]any), member("mallory", "5bee6706e4b073e587c144ae"))
			p["summary"].(map[string]any)["addMembers"] = 3.0
		}, `group legacy-room: adds member "5bee6706e4b073e587c144ae", who is not one of its members`},
		{"a notice added", func(p map[string]any) {
			g := group(p, "it-helpdesk")
			n := map[string]any{"title": "请点击", "content": "https://evil.example.com"}
			g["notices"] = append(g["notices"].([]any), map[string]any{"hash": "00", "title": "请点击", "notice": n})
			s := p["summary"].(map[string]any)
			s["notices"], s["writeCalls"] = s["notices"].(float64)+1, s["writeCalls"].(float64)+1
		}, `group it-helpdesk: notice "请点击": its hash or title is not its content's`},
		{"a notice's content changed, its hash kept", func(p map[string]any) {
			n := group(p, "release-crew")["notices"].([]any)[0].(map[string]any)
			n["notice"].(map[string]any)["content"] = "https://evil.example.com"
		}, "group release-crew: notice"},
		{"the owner changed", func(p map[string]any) {
			group(p, "release-crew")["operator"] = "5bee6706e4b073e587c144ae"
		}, `group release-crew: operator "5bee6706e4b073e587c144ae" is not the manifest's`},
		{"an adoption retargeted", func(p map[string]any) {
			g := group(p, "legacy-room")
			g["bind"].(map[string]any)["groupId"] = "5bee6706e4b073e587c144ae"
			g["groupId"] = "5bee6706e4b073e587c144ae"
		}, `group legacy-room: adopt of group "5bee6706e4b073e587c144ae"`},
		{"a type changed", func(p map[string]any) {
			group(p, "company-square")["create"].(map[string]any)["type"] = "sysTopic"
		}, "group company-square: create type"},
		{"a group planned twice", func(p map[string]any) {
			p["groups"] = append(p["groups"].([]any), group(p, "dev-chat"))
		}, "group dev-chat: planned twice"},
		{"a group the manifest does not have", func(p map[string]any) {
			g := map[string]any{}
			for k, v := range group(p, "dev-chat") {
				g[k] = v
			}
			g["key"] = "stowaway"
			p["groups"] = append(p["groups"].([]any), g)
		}, "group stowaway: not in the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, planFile := savedPlanSetup(t)
			editPlanFile(t, planFile, tt.edit)
			r := c.sandbox("apply", planFile).wantCode(t, 1)
			if !strings.HasPrefix(r.stderr, "groupsync: the saved plan "+planFile+" does what its manifest does not ask for (was it edited?); nothing was changed:\n") ||
				!strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr:\n%s\nwant it to name: %s", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout:\n%s", r.stdout)
			}
			c.checkUntouched()
			runs, err := c.open().Runs(context.Background(), 10)
			if err != nil || len(runs) != 0 {
				t.Errorf("runs recorded: %+v (%v)", runs, err)
			}
		})
	}
	// A summary is recomputed from the steps, never trusted: one that
	// understates the creates does not get them past --max-new-groups.
	t.Run("the summary understates the creates", func(t *testing.T) {
		c, _, planFile := savedPlanSetup(t)
		editPlanFile(t, planFile, func(p map[string]any) { p["summary"].(map[string]any)["create"] = 0.0 })
		r := c.sandbox("apply", "--max-new-groups", "4", planFile).wantCode(t, 1)
		if !strings.Contains(r.stderr, "the plan creates 6 groups, more than --max-new-groups 4") {
			t.Errorf("stderr:\n%s\nwant the 6 creates of the steps refused", r.stderr)
		}
		c.checkUntouched()
	})
	// Unedited, the same plan applies.
	c, _, planFile := savedPlanSetup(t)
	c.sandbox("apply", planFile).wantCode(t, 0)
}

// editPlanFile rewrites a saved plan file with edit applied to its JSON.
func editPlanFile(t *testing.T, planFile string, edit func(p map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	edit(p)
	if data, err = json.Marshal(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestStateListJSONAndRuns(t *testing.T) {
	c := newCLI(t)
	if r := c.run("state", "runs", "--state", c.state); r.code != 1 {
		t.Errorf("state runs with no state file: exit %d", r.code)
	}
	c.sandbox("apply", "--auto-approve", "-f", example).wantCode(t, 0)

	text := c.run("state", "list", "--state", c.state).wantCode(t, 0)
	r := c.run("state", "list", "--state", c.state, "--format", "json").wantCode(t, 0)
	var list []stateEntry
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("state list --format json: %v\n%s", err, r.stdout)
	}
	// One entry per row of the text list, in its order.
	rows := strings.Split(strings.TrimSpace(text.stdout), "\n")[1:]
	if len(list) != len(rows) || len(list) == 0 {
		t.Fatalf("%d JSON entries, %d text rows", len(list), len(rows))
	}
	for i, e := range list {
		if !strings.HasPrefix(rows[i], e.Key+" ") || e.GroupID == "" || e.Provider == "" || e.LastRead == nil {
			t.Errorf("entry %+v does not match row %q", e, rows[i])
		}
	}

	runs := c.run("state", "runs", "--state", c.state).wantCode(t, 0)
	lines := strings.Split(strings.TrimSpace(runs.stdout), "\n")
	// The example prunes one member who is not in its manifest.
	if len(lines) != 2 || lines[0] != "ID  STARTED               DURATION  OUTCOME  CHANGES                                           TRIGGER  MESSAGE" ||
		!regexp.MustCompile(`^1 +\d{4}-\d\d-\d\dT\S+Z +\d+(\.\d+)?m?s +ok +6 created, 3 added, 1 removed, 5 posted; 1 drift +apply +-$`).MatchString(lines[1]) {
		t.Errorf("state runs, newest first:\n%s", runs.stdout)
	}
	j := c.run("state", "runs", "--state", c.state, "--format", "json", "--limit", "1").wantCode(t, 0)
	var entries []runEntry
	if err := json.Unmarshal([]byte(j.stdout), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ID != 1 || entries[0].Seconds == nil || entries[0].Outcome != "ok" || entries[0].Removed != 1 {
		t.Errorf("state runs --format json --limit 1: %s", j.stdout)
	}
	c.run("state", "runs", "--state", c.state, "--format", "yaml").wantCode(t, 1)
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A key renamed without `previously:` (Yunzhijia, whose read has no name:
// the binding's recorded name is what matches): the plan says, on the
// create, that the orphan key's group has this name and suggests
// `previously:`, in text and JSON; with `previously:` the plan moves the
// state and creates nothing.
func TestPlanSuggestsPreviouslyForRenamedKey(t *testing.T) {
	e := newSchedEnv(t, 1)
	if code := e.a.run(context.Background(), []string{"apply", "-f", e.manifest, "--state", e.state, "--auto-approve"}); code != exitOK {
		t.Fatalf("apply: exit %d\n%s%s", code, e.stdout, e.stderr)
	}
	data, err := os.ReadFile(e.manifest)
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.Replace(string(data), "key: g1\n", "key: crew-2027\n", 1)
	e.write(manifest)
	plan := func(args ...string) string {
		e.stdout.mu.Lock()
		e.stdout.b.Reset()
		e.stdout.mu.Unlock()
		if code := e.a.run(context.Background(), append([]string{"plan", "-f", e.manifest, "--state", e.state}, args...)); code != exitOK {
			t.Fatalf("plan %v: exit %d\n%s%s", args, code, e.stdout, e.stderr)
		}
		return e.stdout.String()
	}
	text := plan()
	for _, want := range []string{
		`+ crew-2027  create yunzhijia group "Group 1"`,
		"! the group of g1, a key no longer in the manifest, has this provider and name: was this key renamed?",
		"hint: if so, add `previously: [g1]` to this group to keep its group; as it is, apply creates a second one",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan does not say %q:\n%s", want, text)
		}
	}
	var doc struct {
		FormatVersion int `json:"formatVersion"`
		Groups        []struct {
			Key             string   `json:"key"`
			SameNameOrphans []string `json:"sameNameOrphans"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(plan("--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != 1 || len(doc.Groups) != 1 || strings.Join(doc.Groups[0].SameNameOrphans, ",") != "g1" {
		t.Errorf("json = %+v, want formatVersion 1 and crew-2027 with sameNameOrphans [g1]", doc)
	}

	e.write(strings.Replace(manifest, "key: crew-2027\n", "key: crew-2027\n    previously: [g1]\n", 1))
	if text := plan(); strings.Contains(text, "create yunzhijia group") || strings.Contains(text, "was this key renamed") || !strings.Contains(text, "renamed from g1") {
		t.Errorf("with previously: the plan still creates or warns:\n%s", text)
	}
}

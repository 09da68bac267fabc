package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShowIsPlan: show prints a saved plan byte for byte as the plan
// command that saved it, in every format.
func TestShowIsPlan(t *testing.T) {
	c := newCLI(t)
	for _, format := range []string{"text", "markdown", "json"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(c.dir, "plan-"+format+".json")
			args := []string{"-f", example, "--format", format, "--out", out}
			if format == "markdown" {
				args = append(args, "--full-plan-url", "https://ci.example.com/plan.txt")
			}
			p := c.sandbox("plan", args...).wantCode(t, 0)
			showArgs := []string{"show", out, "--format", format}
			if format == "markdown" {
				showArgs = append(showArgs, "--full-plan-url", "https://ci.example.com/plan.txt")
			}
			s := c.run(showArgs...).wantCode(t, 0)
			if s.stdout != p.stdout {
				t.Errorf("show differs from plan:\n-- plan --\n%s\n-- show --\n%s", p.stdout, s.stdout)
			}
		})
	}
	// A plan from the cache keeps its cache note.
	out := filepath.Join(c.dir, "cached.json")
	p := c.sandbox("plan", "-f", example, "--format", "markdown", "--refresh=false", "--out", out)
	s := c.run("show", out, "--format", "markdown")
	if s.stdout != p.stdout || !strings.Contains(s.stdout, "**From the cache:**") {
		t.Errorf("show of a cached plan:\n%s\nplan printed:\n%s", s.stdout, p.stdout)
	}
}

func TestShowRefuses(t *testing.T) {
	c := newCLI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"show"}, "show takes one saved plan file"},
		{[]string{"show", example}, "is not a saved plan"},
		{[]string{"show", "x.json", "--format", "html"}, `--format: "html"`},
	} {
		r := c.run(tt.args...).wantCode(t, 1)
		if !strings.Contains(r.stderr, tt.want) {
			t.Errorf("groupsync %s: stderr %q lacks %q", strings.Join(tt.args, " "), r.stderr, tt.want)
		}
	}
}

// TestSchemaCommand: groupsync schema prints the committed schema file.
func TestSchemaCommand(t *testing.T) {
	c := newCLI(t)
	r := c.run("schema").wantCode(t, 0)
	want, err := os.ReadFile("../../schema/groups.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.stdout != string(want) {
		t.Error("groupsync schema differs from schema/groups.schema.json (go test ./internal/spec -run TestSchemaFileUpToDate -update)")
	}
	c.run("schema", "extra").wantCode(t, 1)
	manifest, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(manifest), "# yaml-language-server: $schema=../schema/groups.schema.json\n") {
		t.Error("examples/groups.yaml does not start with the schema modeline")
	}
}

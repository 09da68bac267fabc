package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const workflow = "../../examples/github-actions.yml"

// TestWorkflowExample checks that the GitHub Actions example applies the
// plan that was reviewed, and runs actionlint on it when installed.
func TestWorkflowExample(t *testing.T) {
	data, err := os.ReadFile(workflow)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", workflow, err)
	}
	job := func(name string) string {
		var b strings.Builder
		for _, s := range doc.Jobs[name].Steps {
			b.WriteString(s.Uses + "\n" + s.Run + "\n")
			for k, v := range s.With {
				b.WriteString(k + ": " + v + "\n")
			}
		}
		return b.String()
	}
	plan, apply := job("plan"), job("apply")
	for _, want := range []string{"--out plan/plan.json", "actions/upload-artifact@", "plan/plan.txt",
		"groupsync show plan/plan.json --format markdown --full-plan-url"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan job lacks %q", want)
		}
	}
	for _, want := range []string{"gh run download", "groupsync apply reviewed/plan.json", "changed since the plan", "::warning::", "fresh "} {
		if !strings.Contains(apply, want) {
			t.Errorf("the apply job lacks %q", want)
		}
	}
	// The stale check matches what apply says of a stale plan.
	n := 0
	for _, file := range []string{"apply.go", "../../internal/converge/converge.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n += strings.Count(string(src), "changed since the plan")
	}
	if n < 2 {
		t.Errorf("apply says %q %d times; the workflow's stale check relies on both messages (manifest, state)", "changed since the plan", n)
	}
	if n := strings.Count(string(data), "CHANGE ME"); n < 5 {
		t.Errorf("%d CHANGE ME markers, want the places to change marked", n)
	}

	bin, err := exec.LookPath("actionlint")
	if err != nil {
		t.Skip("actionlint is not installed: the workflow is not linted (go install github.com/rhysd/actionlint/cmd/actionlint@latest)")
	}
	if out, err := exec.Command(bin, workflow).CombinedOutput(); err != nil {
		t.Errorf("actionlint %s: %v\n%s", workflow, err, out)
	}
}

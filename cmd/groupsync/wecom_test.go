package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIWeComRenameOwnerAndPrune: on the sandbox, the example's WeCom
// chat renamed, given another owner, a member added and one pruned is one
// plan step each, said in the plan and the apply's summary, and a second
// plan has nothing to do.
func TestCLIWeComRenameOwnerAndPrune(t *testing.T) {
	c := newCLI(t)
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)

	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "    name: 外勤销售                 # at most 50 characters\n    owner: frank                # required on WeCom\n    members: [alice, grace, dave]",
		"    name: 外勤销售(华东)\n    owner: grace\n    members: [alice, frank, carol]", 1)
	if !strings.Contains(s, "外勤销售(华东)") {
		t.Fatal("examples/groups.yaml changed: the field-sales edit no longer applies")
	}
	manifest := filepath.Join(c.dir, "groups.yaml")
	if err := os.WriteFile(manifest, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	r := c.sandbox("plan", "-f", manifest).wantCode(t, 0)
	for _, want := range []string{
		"    ~ rename to \"外勤销售(华东)\"\n",
		"    ~ owner: grace\n",
		"    + add members: carol (carol_w)\n",
		"    - remove members: dave\n",
		"1 group to rename, 1 owner to change",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	r = c.sandbox("apply", "-f", manifest, "--auto-approve").wantCode(t, 0)
	if !strings.Contains(r.stdout, "1 member added, 1 member removed, 1 group renamed, 1 owner changed") {
		t.Errorf("apply:\n%s", r.stdout)
	}
	world, err := os.ReadFile(sandboxPath(c.state))
	if err != nil || !strings.Contains(string(world), "外勤销售(华东)") {
		t.Errorf("the sandbox world lacks the new name (%v)", err)
	}
	c.sandbox("plan", "-f", manifest, "--detailed-exitcode").wantCode(t, 3) // legacy-room's drift only
}

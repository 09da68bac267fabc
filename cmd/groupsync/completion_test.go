package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompletionScriptsParse: each script is valid for its shell (bash -n,
// zsh -n, fish -n), for the shells installed here.
func TestCompletionScriptsParse(t *testing.T) {
	c := newCLI(t)
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			r := c.run("completion", shell).wantCode(t, 0)
			if !strings.Contains(r.stdout, "plan") || !strings.Contains(r.stdout, "full-plan-url") {
				t.Fatalf("the %s script lacks a command or a flag:\n%s", shell, r.stdout)
			}
			path, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed: the script is not checked", shell)
			}
			file := filepath.Join(c.dir, "groupsync."+shell)
			if err := os.WriteFile(file, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(path, "-n", file).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
	c.run("completion", "tcsh").wantCode(t, 1)
	c.run("completion").wantCode(t, 1)
}

// TestBashCompletes loads the bash script and completes words as bash
// would on a tab: a command, a flag, a flag's value, a subcommand.
func TestBashCompletes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	c := newCLI(t)
	script := filepath.Join(c.dir, "groupsync.bash")
	if err := os.WriteFile(script, []byte(c.run("completion", "bash").wantCode(t, 0).stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		line string // the words typed; the last is being completed
		want string // COMPREPLY, sorted, space-separated
	}{
		{"groupsync pl", "plan"},
		{"groupsync s", "schema show simulate state"},
		{"groupsync plan --for", "--format"},
		{"groupsync plan --format m", "markdown"},
		{"groupsync validate --format ", "github text"},
		{"groupsync state r", "resolve runs"},
		{"groupsync completion f", "fish"},
	}
	for _, tt := range tests {
		words := strings.Split(tt.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_groupsync\nprintf '%s\\n' \"${COMPREPLY[@]}\" | sort | tr '\\n' ' '\n"
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tt.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("completing %q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

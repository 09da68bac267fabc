package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes name -> content under a temp dir and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		src  string
		line int
	}{
		{"version: 1\ngroups:\n  - key: [a\n  - key: b\n", 3},    // parser: where the flow list opens
		{"version: 1\ngroups: x: y\n", 2},                        // scanner
		{"version: 1\npeople:\n  a: 1\n- b\n", 4},                // parser: block mapping at line 1
		{"version: [\n", 2},                                      // parser: at end of input
		{"\tversion: 1\n", 1},                                    // scanner, first line
		{"version: 1\ngroups: *nope\n", 1},                       // no line given at all
		{"version: 1\ngroups:\n  - key: \"open\n", 3},            // scanner: unterminated string
		{"version: 1\nproviders:\n  a: {vendor: lunkr\n", 3},     // parser: flow mapping
		{"version: 1\n---\nversion: 1\ngroups: [\n", 5},          // second document
		{"version: 1\nprovi ders:\n  x: y\n  : z\n    - w\n", 3}, // parser: where the inner mapping starts
	}
	for _, tt := range tests {
		dir := writeFiles(t, map[string]string{"m.yaml": tt.src})
		_, err := Load(filepath.Join(dir, "m.yaml"))
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Errorf("%q: got %v, want a syntax error", tt.src, err)
			continue
		}
		e := list[0]
		if !strings.HasPrefix(e.Msg, "invalid YAML: ") || e.Pos.Line != tt.line {
			t.Errorf("%q: got %d: %s, want line %d", tt.src, e.Pos.Line, e.Msg, tt.line)
		}
	}
}

func TestLoadSplitDirectory(t *testing.T) {
	m, err := Load("testdata/multi/split")
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"testdata/multi/split/00-empty.yaml",
		"testdata/multi/split/10-groups.yaml",
		"testdata/multi/split/20-people.yml",
		"testdata/multi/split/30-providers.yaml",
	}
	if diff := cmp.Diff(wantFiles, m.Files); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
	var keys []string
	for _, g := range m.Groups {
		keys = append(keys, g.Key)
	}
	if diff := cmp.Diff([]string{"release-crew", "chat"}, keys); diff != "" {
		t.Errorf("group order (-want +got):\n%s", diff)
	}
	kd, cm := m.Providers["kingdee"], m.Providers["coremail"]
	if kd.Endpoint != "http://127.0.0.1:8081/gateway/" || kd.Operator != "5b503ee9e4b02abb5318b23e" {
		t.Errorf("kingdee = %+v", kd)
	}
	if cm.Endpoint != "https://api.lunkr.cn/api/" || cm.TokenEnv != "" || !cmp.Equal(cm.TokenCommand, []string{"lunkr-token", "--fresh"}) {
		t.Errorf("coremail = %+v", cm)
	}
	if len(m.Digest) != 64 {
		t.Errorf("Digest = %q, want 64 hex digits", m.Digest)
	}
}

func TestLoadPaths(t *testing.T) {
	good := "version: 1\n"
	dir := writeFiles(t, map[string]string{"a.yaml": good, "b.yml": "# nothing\n", "c.txt": "junk"})
	empty := t.TempDir()
	onlyEmpty := writeFiles(t, map[string]string{"a.yaml": "", "b.yaml": "---\n# x\n"})
	tests := []struct {
		name    string
		paths   []string
		wantErr string // substring; "" for success
		files   int
	}{
		{"dir", []string{dir}, "", 2},
		{"file twice is read once", []string{dir, filepath.Join(dir, "a.yaml")}, "", 2},
		{"no paths", nil, "no manifest given", 0},
		{"empty dir", []string{empty}, "directory has no *.yaml or *.yml file", 0},
		{"only empty files", []string{onlyEmpty}, "manifest is empty", 0},
		{"missing", []string{filepath.Join(dir, "nope.yaml")}, "cannot read", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(tt.paths...)
			if tt.wantErr == "" {
				if err != nil || len(m.Files) != tt.files {
					t.Fatalf("Load = %v, %v; want %d files", m, err, tt.files)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	src := "version: 1\n"
	dir := writeFiles(t, map[string]string{"a.yaml": src, "b.yaml": src})
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	digest := func(paths ...string) string {
		t.Helper()
		m, err := Load(paths...)
		if err != nil {
			t.Fatal(err)
		}
		return m.Digest
	}
	ab := digest(a, b)
	if ab != digest(a, b) {
		t.Error("digest is not deterministic")
	}
	if ab == digest(b, a) {
		t.Error("digest ignores merge order")
	}
	if ab == digest(a) {
		t.Error("digest ignores a file")
	}
	if err := os.WriteFile(b, []byte(src+"# changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ab == digest(a, b) {
		t.Error("digest ignores content")
	}
}

// TestAliasBudget: aliases cannot make a small file expand into a huge
// walk; a file without aliases never hits the budget.
func TestAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nprovider: {p: {vendor: lunkr, token: \"${T}\"}}\nx: &big [")
	for i := range 2000 {
		fmt.Fprintf(&b, "%d,", i+1)
	}
	b.WriteString("]\ngroups:\n  - &g {key: a, provider: p, members: *big}\n")
	b.WriteString(strings.Repeat("  - *g\n", 3000))
	dir := writeFiles(t, map[string]string{"bomb.yaml": b.String()})
	_, err := Load(filepath.Join(dir, "bomb.yaml"))
	if err == nil || !strings.Contains(err.Error(), "bomb.yaml:1:1: aliases expand this file too far") {
		t.Errorf("Load = %v, want the alias budget error", err)
	}
}

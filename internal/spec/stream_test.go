package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// loadBothWays loads paths with the groups read one at a time and with
// every file parsed whole, and reports any difference in the manifest or
// the errors. The groups read one at a time are read both in parallel, in
// blocks of two groups, and sequentially.
func loadBothWays(t *testing.T, paths ...string) {
	t.Helper()
	defer func(n int) { blockGroups = n }(blockGroups)
	blockGroups = 2
	m1, err1 := Load(paths...)
	parallelLoad = false
	m3, err3 := Load(paths...)
	streamGroups = false
	m2, err2 := Load(paths...)
	streamGroups, parallelLoad = true, true
	if fmt.Sprint(err1) != fmt.Sprint(err2) || fmt.Sprint(err3) != fmt.Sprint(err2) {
		t.Fatalf("errors differ:\nstreamed in parallel:\n%v\nstreamed:\n%v\nwhole:\n%v", err1, err3, err2)
	}
	if diff := cmp.Diff(m2, m1); diff != "" {
		t.Fatalf("manifests differ (-whole +streamed in parallel):\n%s", diff)
	}
	if diff := cmp.Diff(m2, m3); diff != "" {
		t.Fatalf("manifests differ (-whole +streamed):\n%s", diff)
	}
}

// streamCases are manifests that read group by group, or must not, with
// the errors either way.
var streamCases = []string{
	"version: 1\ngroups:\n  - key: a\n    provider: p\n    members: [x, y]\n",
	"version: 1\ngroups:\n- key: a\n  provider: p\n  members:\n  - x\n  - \"y\"\n  - 'z''s'\npeople:\n  x: {yunzhijia: 5b6bf2a7e4b0fbba1110125c}\n",
	"version: 1\ngroups:\n  - key: a\n    key: b\n    members: [x, 12, true, null, ~, 1.5]\n    prune: 1\n  - key: b # c\n    notices:\n      - {title: \"t\", content: c}\n      - {title: t}\n      - x\n    banners: [a]\n",
	"version: 1\ngroups:\n  - key: &a a\n    name: *a\n",
	"version: 1\ngroups:\n  - key: a\n  - key: *a\n",
	"version: 1\ngroups:\n  - key: a\n    members: [x\n  - key: b\n",
	"version: 1\ngroups:\n  - key: a\n    members: |\n      x\n",
	"version: 1\ngroups:\n  - key: a\n    unknown: 5\n    membrs: [a]\n    name:\n    owner: ''\n",
	"version: 1\ngroups:\n  - key: a\ngroups:\n  - key: b\n",
	"version: 1\ngroups:\n  - key: a\n\"groups\": []\n",
	"version: 1\ngroups:\n  - key: a\n   name: b\n",
	"version: 1\ngroups:\n  - key: a\n name: b\n",
	"version: 1\ngroups:\n  -\n    key: a\n",
	"version: 1\ngroups:\n  - key: a\n    members:\n    - x\n    -   y\n",
	"version: 1\ngroups:\n  - key: a\n---\nversion: 1\n",
	"groups:\n  - key: a\n    name: x: y\n",
	"version: 1\ngroups:\n  - key: a\n    name: \"a\\tb\"\n",
	"version: 1\ngroups:\n  - key: a\n    name: Team\u2028x\n",
	"version: 1\ngroups:   # the teams\n  # first\n  - key: a   # the key\n    members: [ x , y ]  # two\n# end\npeople: {}\n",
	"version: 1\ngroups:\n  - key: a\n    members: []\n    subscribers: [a, b,]\n",
	"version: 1\ngroups:\n  - key: a\n    prune: yes\n    previously: [b]\n  - key: b\n",
	// yaml.v3 refuses a key of more than 1,024 characters.
	"version: 1\ngroups:\n  - key: a\n    " + strings.Repeat("k", 1025) + ": x\n",
	"version: 1\ngroups:\n  - key: a\n    notices:\n      - {" + strings.Repeat("t", 1025) + ": x}\n",
}

func TestStreamAgrees(t *testing.T) {
	dir := t.TempDir()
	for i, c := range streamCases {
		path := filepath.Join(dir, fmt.Sprintf("case%02d.yaml", i))
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { loadBothWays(t, path) })
	}
	files, _ := filepath.Glob("testdata/*/*.yaml")
	more, _ := filepath.Glob("testdata/*/*/*.yaml")
	files = append(append(files, more...), "../../examples/groups.yaml")
	for _, f := range files {
		t.Run(f, func(t *testing.T) { loadBothWays(t, f) })
	}
	dirs, _ := filepath.Glob("testdata/multi/*")
	for _, d := range dirs {
		t.Run(d, func(t *testing.T) { loadBothWays(t, d) })
	}
}

// FuzzStream: the groups read one at a time make the same manifest, or
// the same errors, as the file parsed whole.
func FuzzStream(f *testing.F) {
	for _, c := range streamCases {
		f.Add([]byte(c))
	}
	if data, err := os.ReadFile("../../examples/groups.yaml"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		loadBothWays(t, path)
	})
}

// FuzzLineParser: a group lineParser reads is the tree yaml.v3 makes of it.
func FuzzLineParser(f *testing.F) {
	for _, c := range streamCases {
		_, rest, _ := strings.Cut(c, "groups:\n")
		f.Add([]byte(rest))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		p := &lineParser{d: &decoder{interned: map[string]string{}}}
		checked := p.check(text, 1)
		got := p.item(text, 1)
		if checked != (got != nil) {
			t.Fatalf("check says %v, item says %v", checked, got != nil)
		}
		if got == nil {
			return
		}
		want, ok := parseAlone(text)
		if !ok {
			t.Fatalf("lineParser reads %q, yaml.v3 does not", text)
		}
		if diff := sameTree(want, got, ""); diff != "" {
			t.Fatalf("%q: %s", text, diff)
		}
	})
}

// sameTree compares what the decoder looks at: kinds, tags, values and
// places. A plain scalar that may be a number is "!!str" for lineParser,
// which reads it only where any of them reads as written.
func sameTree(want, got *yaml.Node, path string) string {
	tagsMatch := want.Tag == got.Tag ||
		(got.Tag == "!!str" && got.Style == 0 && (want.Tag == "!!int" || want.Tag == "!!float" || want.Tag == "!!timestamp"))
	if want.Kind != got.Kind || !tagsMatch || want.Value != got.Value || want.Line != got.Line || want.Column != got.Column || len(want.Content) != len(got.Content) {
		return fmt.Sprintf("%s: yaml.v3 has %v %s %q at %d:%d with %d children, lineParser %v %s %q at %d:%d with %d",
			path, want.Kind, want.Tag, want.Value, want.Line, want.Column, len(want.Content),
			got.Kind, got.Tag, got.Value, got.Line, got.Column, len(got.Content))
	}
	for i := range want.Content {
		if d := sameTree(want.Content[i], got.Content[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

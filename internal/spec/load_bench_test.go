package spec

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoad loads a manifest of 10,000 groups of 200 members written
// as the scale benchmark writes one: people in one file, groups in files
// of 1,000.
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	const groups, members, people = 10000, 200, 800
	var head bytes.Buffer
	head.WriteString("version: 1\nproviders:\n  kingdee:\n    vendor: yunzhijia\n    token: ${YZJ_TOKEN}\n    operator: ops\npeople:\n  ops: {yunzhijia: 5a0000000000000000000001}\n")
	for k := range people {
		fmt.Fprintf(&head, "  p%05d: {yunzhijia: 5b%022x}\n", k, k+1)
	}
	if err := os.WriteFile(filepath.Join(dir, "00-people.yaml"), head.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < groups; lo += 1000 {
		var g bytes.Buffer
		g.WriteString("version: 1\ngroups:\n")
		for i := lo; i < lo+1000; i++ {
			fmt.Fprintf(&g, "  - key: team-%05d\n    name: Team %05d\n    provider: kingdee\n    notices:\n      - {title: \"Welcome\", content: \"Welcome to team %05d.\"}\n    members: [", i, i, i)
			for j := range members {
				if j > 0 {
					g.WriteString(", ")
				}
				fmt.Fprintf(&g, "p%05d", (i*7+j)%people)
			}
			g.WriteString("]\n")
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("groups-%02d.yaml", lo/1000)), g.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}

package reconcile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchPlan is a plan of n groups shaped like BenchmarkCLI's cold plan at
// 200 members a group: a tenth created with all their members, some with
// members to add or remove, notices, WeCom groups updated in one call. The
// handles and ids repeat across groups, as a manifest's people do.
func benchPlan(n int) *Plan {
	const people = 800
	member := func(i int) Member {
		i %= people
		return Member{Handle: fmt.Sprintf("p%05d", i), ID: fmt.Sprintf("5b%022d", i)}
	}
	owner := member(people - 1)
	p := &Plan{FormatVersion: FormatVersion, CreatedAt: time.Date(2026, 11, 29, 11, 14, 27, 517425262, time.UTC),
		ManifestDigest: "d75fa07d7fad52977e39d872e171206edd205c516cc88b64911da669ec28d41f",
		StateSerial:    23402, StateLineage: "a7db035409ff4421baf9eef439f0185d", Refreshed: true}
	for f := range 11 {
		p.ManifestFiles = append(p.ManifestFiles, fmt.Sprintf("/srv/groups/manifest/groups-%05d.yaml", f))
	}
	for i := range n {
		g := GroupPlan{Key: fmt.Sprintf("team-%05d", i), Provider: "kingdee", Vendor: "yunzhijia",
			Name: fmt.Sprintf("Team %05d 研发", i), GroupID: fmt.Sprintf("5f%022d", i), Operator: owner.ID}
		o := owner
		g.Owner = &o
		switch {
		case i%10 == 0:
			g.GroupID = Placeholder
			c := &CreateStep{Name: g.Name}
			for j := range 200 {
				c.Members = append(c.Members, member(i+j))
			}
			g.Create = c
		case i%12 == 1:
			for j := range 20 {
				g.Add = append(g.Add, member(i*7+j))
			}
		case i%27 == 2:
			for j := range 10 {
				g.Remove = append(g.Remove, Member{ID: fmt.Sprintf("5c%022d", i*10+j)})
			}
		case i%68 == 3:
			g.Provider, g.Vendor, g.OneUpdate = "wecom", "wecom", true
			g.Add = []Member{member(i), member(i + 1)}
			g.Remove = []Member{{ID: fmt.Sprintf("u%05d", i)}}
		}
		if i%9 == 0 {
			nt := Notice{Title: "值班 <on call>", Content: fmt.Sprintf("See https://wiki.example.com/oncall?team=%d&lang=zh — “every” week", i)}
			g.Notices = []PostStep{{Hash: ContentHash(nt), Title: nt.Title, Notice: &nt}}
		}
		p.Groups = append(p.Groups, g)
	}
	p.derive()
	return p
}

func BenchmarkDecodeSaved(b *testing.B) {
	data, err := EncodeSaved(benchPlan(10000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSaved(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadSaved reads the plan of BenchmarkDecodeSaved from a file,
// as apply PLANFILE does.
func BenchmarkReadSaved(b *testing.B) {
	data, err := EncodeSaved(benchPlan(10000))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "plan.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		_, fast, err := readSaved(f)
		f.Close()
		if err != nil || !fast {
			b.Fatalf("one pass: %v, %v", fast, err)
		}
	}
}

func BenchmarkWriteSaved(b *testing.B) {
	p := benchPlan(10000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteSaved(bufio.NewWriter(io.Discard), p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSaved(b *testing.B) {
	p := benchPlan(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeSaved(p); err != nil {
			b.Fatal(err)
		}
	}
}

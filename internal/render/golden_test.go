package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	plans := []struct {
		name string
		plan func() *reconcile.Plan
	}{
		{"spec", specPlan},
		{"full", fullPlan},
		{"empty", emptyPlan},
		{"prune", prunePlan},
	}
	formats := []struct {
		ext    string
		render func(*bytes.Buffer, *reconcile.Plan) error
	}{
		{"txt", func(b *bytes.Buffer, p *reconcile.Plan) error { return Text(b, p, Options{}) }},
		{"color.txt", func(b *bytes.Buffer, p *reconcile.Plan) error { return Text(b, p, Options{Color: true}) }},
		{"md", func(b *bytes.Buffer, p *reconcile.Plan) error { return Markdown(b, p) }},
		{"json", func(b *bytes.Buffer, p *reconcile.Plan) error { return JSON(b, p) }},
	}
	for _, pl := range plans {
		for _, f := range formats {
			t.Run(pl.name+"."+f.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.render(&b, pl.plan()); err != nil {
					t.Fatal(err)
				}
				golden(t, pl.name+"."+f.ext, b.Bytes())
			})
		}
	}
}

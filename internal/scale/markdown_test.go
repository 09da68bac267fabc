package scale

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"groupsync/internal/render"
)

// TestMarkdown5000 renders the plan of a 5,000-group world (2,000 under
// the race detector, still far past what a comment holds) for a pull
// request: under GitHub's 65,536 characters, with every group that has an
// error or drift named, or counted in the cut note. Errors and drift are
// spread through manifest order: every 37th Yunzhijia group pins a group
// id the simulator does not know (the read says it is gone), and the pruned
// groups holding extra members lose prune: (the extras become drift).
func TestMarkdown5000(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 5,000-group world")
	}
	ctx := context.Background()
	groups := 5000
	if raceEnabled {
		groups = 2000
	}
	sc := drifted(groups, 5, 0, 32, 0)
	w, err := NewWorld(ctx, t.TempDir(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, g := range w.Manifest.Groups {
		switch {
		case !sc.onLunkr(i) && !sc.missing(i) && i%37 == 36:
			g.GroupID = fmt.Sprintf("5bee%020x", 0xdead0000+i)
		case sc.extras(i) > 0:
			g.Prune = false
		}
	}
	w.Start(0)
	p, err := w.Plan(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	var errs, drift []string
	for i := range p.Groups {
		g := &p.Groups[i]
		switch {
		case len(g.Errors) > 0:
			errs = append(errs, g.Key)
		case len(g.Drift) > 0:
			drift = append(drift, g.Key)
		}
	}
	if len(errs) < 30 || len(drift) < 30 || p.Summary.Create == 0 {
		t.Fatalf("the world has %d groups with errors, %d with drift, %d creates: want many of each", len(errs), len(drift), p.Summary.Create)
	}
	var b bytes.Buffer
	if err := render.MarkdownWith(&b, p, render.MarkdownOptions{FullPlanURL: "https://ci.example.com/plan.txt"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := utf8.RuneCountInString(out); n >= 65536 {
		t.Fatalf("markdown is %d characters, want < 65,536", n)
	}
	// The kinds come in the order a reviewer needs them.
	last := -1
	for _, h := range []string{"#### Errors (", "#### Drift to fix by hand (", "#### Creates ("} {
		i := strings.Index(out, h)
		if i >= 0 && i < last {
			t.Errorf("%q comes before the section above it", h)
		}
		last = max(last, i)
	}
	t.Logf("%d groups with errors, %d with drift; %d characters", len(errs), len(drift), utf8.RuneCountInString(out))
	cut := strings.LastIndex(out, "**Plan cut**")
	if cut < 0 {
		t.Fatal("the plan of the big world is not cut")
	}
	note := out[cut:]
	for _, k := range []struct {
		keys     []string
		one, all string
	}{{errs, "group with errors", "groups with errors"}, {drift, "group with drift", "groups with drift"}} {
		named := 0
		for _, key := range k.keys {
			if strings.Contains(out, " "+key+": ") || strings.Contains(out, "` "+key+" ·") {
				named++
			}
		}
		left := 0
		if i := strings.Index(note, "Left out:"); i >= 0 {
			seg := note[i : i+strings.Index(note[i:], ".")+1]
			if m := regexp.MustCompile(`(\d+) (?:` + k.one + "|" + k.all + `)[,.]`).FindStringSubmatch(seg); m != nil {
				left, _ = strconv.Atoi(m[1])
			}
		}
		if named+left != len(k.keys) {
			t.Errorf("%s: %d named + %d counted as left out, want %d", k.all, named, left, len(k.keys))
		}
		if named == 0 {
			t.Errorf("no %s named", k.all)
		}
	}

	// From the cache, the plan says so at the top, with the read times.
	c, err := w.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := render.Markdown(&b, c); err != nil {
		t.Fatal(err)
	}
	head := b.String()[:400]
	if c.Cache == nil || c.Cache.Newest.IsZero() || !strings.Contains(head, "**From the cache:**") ||
		!strings.Contains(head, c.Cache.Newest.UTC().Format(time.RFC3339)) {
		t.Errorf("cached plan (cache %+v) does not say so at the top:\n%s", c.Cache, head)
	}
	if utf8.RuneCountInString(b.String()) >= 65536 {
		t.Error("the cached markdown is too long")
	}
}

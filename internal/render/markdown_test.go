package render

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"groupsync/internal/reconcile"
)

// bigPlan has n groups, each with a long list of members to add; every
// errEvery-th group (when not 0) is blocked by an error and every
// driftEvery-th has drift, spread through manifest order.
func bigPlan(n, errEvery, driftEvery int) *reconcile.Plan {
	p := &reconcile.Plan{Refreshed: true}
	for i := range n {
		g := reconcile.GroupPlan{Key: fmt.Sprintf("team-%05d", i), Provider: "kingdee", Vendor: "yunzhijia",
			Action: reconcile.ActionUpdate, GroupID: fmt.Sprintf("5bee%020x", i)}
		for j := range 200 {
			g.Add = append(g.Add, reconcile.Member{Handle: fmt.Sprintf("成员%03d", j), ID: fmt.Sprintf("5b6c%020x", j)})
		}
		if errEvery > 0 && i%errEvery == errEvery-1 {
			g.Errors = append(g.Errors, reconcile.Issue{Kind: reconcile.IssueReadFailed, Message: "read failed: 502 Bad Gateway", Fix: "run plan again"})
		} else if driftEvery > 0 && i%driftEvery == driftEvery-1 {
			g.Drift = append(g.Drift, reconcile.Drift{Kind: reconcile.DriftName, Live: "old", Desired: "new", Fix: "rename the group by hand"})
		}
		p.Groups = append(p.Groups, g)
		p.Summary.AddMembers += len(g.Add)
		p.Summary.Errors += len(g.Errors)
		p.Summary.Drift += len(g.Drift)
	}
	return p
}

// cutCounts reads the counts of a kind ("group with errors") out of a cut
// note's "Named without details:" and "Left out:" parts.
func cutCounts(t *testing.T, out string, k kind) (named, left int) {
	t.Helper()
	i := strings.LastIndex(out, "**Plan cut**")
	if i < 0 {
		return 0, 0
	}
	note := out[i:]
	re := regexp.MustCompile(`(\d+) (?:` + regexp.QuoteMeta(kindNames[k].one) + "|" + regexp.QuoteMeta(kindNames[k].many) + `)[,.]`)
	part := func(label string) int {
		j := strings.Index(note, label)
		if j < 0 {
			return 0
		}
		seg := note[j+len(label):]
		seg = seg[:strings.Index(seg, ".")+1]
		m := re.FindStringSubmatch(seg)
		if m == nil {
			return 0
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return part("Named without details:"), part("Left out:")
}

// CheckCut checks what every cut plan must be: under the limit, the
// summary table whole, details blocks whole, and every group with errors
// or drift either shown (block or line) or counted as left out. It is
// exported to the scale test through this package's tests only.
func checkCut(t *testing.T, out string, p *reconcile.Plan, limit int) {
	t.Helper()
	if n := utf8.RuneCountInString(out); n >= limit {
		t.Fatalf("markdown is %d characters, want < %d", n, limit)
	}
	if strings.Count(out, "<details") != strings.Count(out, "</details>") {
		t.Error("a details block is cut in half")
	}
	for _, k := range []struct {
		kind kind
		noun string
	}{{kindErrors, "groups with errors"}, {kindDrift, "groups with drift"}} {
		var keys []string
		for i := range p.Groups {
			if g := &p.Groups[i]; shown(g) && kindOf(g) == k.kind {
				keys = append(keys, g.Key)
			}
		}
		want := fmt.Sprintf("| `!` | %s | %d |", kindNames[k.kind].title, len(keys))
		if len(keys) > 0 && !strings.Contains(out, want) {
			t.Errorf("summary table lacks %q", want)
		}
		shownN := 0
		for _, key := range keys {
			if strings.Contains(out, " "+html.EscapeString(key)+": ") || strings.Contains(out, "` "+cell(key)+" ·") {
				shownN++
			}
		}
		_, left := cutCounts(t, out, k.kind)
		if shownN+left != len(keys) {
			t.Errorf("%s: %d shown + %d counted as left out, want %d", k.noun, shownN, left, len(keys))
		}
	}
}

func TestMarkdownCuts(t *testing.T) {
	tests := []struct {
		name       string
		plan       *reconcile.Plan
		wantBlocks bool // some groups keep their details block
		wantLeft   bool // some groups are left out altogether
	}{
		{"300 groups", bigPlan(300, 0, 0), true, false},
		{"5000 groups", bigPlan(5000, 0, 0), false, true},
		{"5000 groups, errors and drift late", bigPlan(5000, 37, 23), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := MarkdownWith(&b, tt.plan, MarkdownOptions{FullPlanURL: "https://ci.example.com/run/1/plan.txt"}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			checkCut(t, out, tt.plan, MaxMarkdown)
			if blocks := strings.Count(out, "<details"); tt.wantBlocks != (blocks > 0) {
				t.Errorf("%d details blocks, want some: %v", blocks, tt.wantBlocks)
			}
			if tt.wantLeft != strings.Contains(out, "Left out:") {
				t.Errorf("groups left out: %v, want %v", !tt.wantLeft, tt.wantLeft)
			}
			if !strings.HasSuffix(out, " [The full plan](https://ci.example.com/run/1/plan.txt).\n") {
				t.Errorf("the cut note does not link the full plan; ends with %q", out[max(0, len(out)-300):])
			}
		})
	}
}

// TestMarkdownErrorsFirst: with the errors at the end of the manifest,
// they still come before every other group.
func TestMarkdownErrorsFirst(t *testing.T) {
	p := bigPlan(5000, 0, 0)
	last := &p.Groups[len(p.Groups)-1]
	last.Errors = []reconcile.Issue{{Kind: reconcile.IssueVanished, Message: "gone"}}
	var b bytes.Buffer
	if err := Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	e := strings.Index(out, " "+last.Key+": ")
	first := strings.Index(out, p.Groups[0].Key)
	if e < 0 || first >= 0 && first < e {
		t.Errorf("the error group %s is at %d, the first group at %d", last.Key, e, first)
	}
}

func TestMarkdownFitsWhole(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, bigPlan(3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Plan cut") || strings.Count(b.String(), "<details>") != 3 {
		t.Errorf("a small plan was cut:\n%s", b.String())
	}
}

// TestMarkdownDiffColumnOne: in a diff fence every item's '+' or '-' is in
// the first column, where GitHub's highlighting looks.
func TestMarkdownDiffColumnOne(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, prunePlan()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"\n+   add members: bob", "\n-   remove members: carol"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if regexp.MustCompile(`(?m)^\s+[+-] `).MatchString(out) {
		t.Errorf("an indented + or - line:\n%s", out)
	}
}

func TestMarkdownCacheNote(t *testing.T) {
	at := time.Date(2025, 3, 6, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		cache *reconcile.CacheSpan
		want  string
	}{
		{"no reads", nil, "the cache held no read of these groups."},
		{"one time", &reconcile.CacheSpan{Oldest: at, Newest: at}, "the groups were read at 2025-03-06T19:00:00Z."},
		{"span", &reconcile.CacheSpan{Oldest: at, Newest: at.Add(time.Hour)}, "read between 2025-03-06T19:00:00Z and 2025-03-06T20:00:00Z."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := specPlan()
			p.Refreshed, p.Cache = false, tt.cache
			var b bytes.Buffer
			if err := Markdown(&b, p); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.HasPrefix(out, "### groupsync plan\n\n> [!NOTE]\n> **From the cache:**") || !strings.Contains(out, tt.want) {
				t.Errorf("no cache note with %q at the top:\n%s", tt.want, out)
			}
		})
	}
	var b bytes.Buffer
	if err := Markdown(&b, specPlan()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "From the cache") {
		t.Error("a refreshed plan says it comes from the cache")
	}
}

func TestMarkdownEscapes(t *testing.T) {
	p := &reconcile.Plan{Refreshed: true, Groups: []reconcile.GroupPlan{{
		Key: "a|b<script>", Provider: "p&q", Action: "!", GroupID: "g",
		Errors: []reconcile.Issue{{Message: "```\n</details>"}},
	}}}
	var b bytes.Buffer
	if err := MarkdownWith(&b, p, MarkdownOptions{limit: 630, FullPlanURL: "https://x.example/a (b)<c>"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"- `!` a\\|b&lt;script&gt; · p&amp;q · g: 1 error\n",
		"(https://x.example/a%20%28b%29%3Cc%3E)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("cut markdown lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, want := range []string{
		"<summary>! a|b&lt;script&gt;: 1 error</summary>",
		"````diff\n! a|b<script>  g  error: ```\\n</details>\n````\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<script>") && !strings.Contains(out, "````diff\n! a|b<script>") {
		t.Errorf("unescaped HTML outside the code block:\n%s", out)
	}
}

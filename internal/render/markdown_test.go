package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"groupsync/internal/reconcile"
)

// bigPlan has n groups, each with a long list of members to add.
func bigPlan(n int) *reconcile.Plan {
	p := &reconcile.Plan{}
	for i := range n {
		g := reconcile.GroupPlan{Key: fmt.Sprintf("team-%05d", i), Provider: "kingdee", Vendor: "yunzhijia",
			Action: reconcile.ActionUpdate, GroupID: fmt.Sprintf("5bee%020x", i)}
		for j := range 200 {
			g.Add = append(g.Add, reconcile.Member{Handle: fmt.Sprintf("成员%03d", j), ID: fmt.Sprintf("5b6c%020x", j)})
		}
		p.Groups = append(p.Groups, g)
		p.Summary.AddMembers += len(g.Add)
	}
	return p
}

func TestMarkdownTruncates(t *testing.T) {
	tests := []struct {
		groups  int
		rowsCut bool // the table itself is too long
	}{
		{300, false},
		{5000, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.groups), func(t *testing.T) {
			var b bytes.Buffer
			if err := Markdown(&b, bigPlan(tt.groups)); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if n := utf8.RuneCountInString(out); n >= MaxMarkdown {
				t.Fatalf("markdown is %d characters, want < %d", n, MaxMarkdown)
			}
			details := strings.Count(out, "<details>")
			if details != strings.Count(out, "</details>") {
				t.Error("a details block is cut in half")
			}
			rows := strings.Count(out, "\n| `~` |")
			missing := tt.groups - details
			if tt.rowsCut {
				if details != 0 || rows == 0 || rows == tt.groups {
					t.Fatalf("%d rows and %d details blocks of %d groups: want some rows, no block", rows, details, tt.groups)
				}
				missing = tt.groups - rows
			} else if rows != tt.groups || details == 0 || details == tt.groups {
				t.Fatalf("%d rows and %d details blocks of %d groups: want every row, some blocks", rows, details, tt.groups)
			}
			note := fmt.Sprintf("\n… %d more groups not shown (output cut at 65,000 characters); run groupsync plan locally for the full plan\n", missing)
			if !strings.HasSuffix(out, note) {
				t.Errorf("output does not end with %q; ends with %q", note, out[max(0, len(out)-200):])
			}
		})
	}
}

func TestMarkdownFitsWhole(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, bigPlan(3)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "not shown") || strings.Count(b.String(), "<details>") != 3 {
		t.Errorf("a small plan was cut:\n%s", b.String())
	}
}

func TestMarkdownEscapes(t *testing.T) {
	p := &reconcile.Plan{Groups: []reconcile.GroupPlan{{
		Key: "a|b<script>", Provider: "p&q", Action: "!", GroupID: "g",
		Errors: []reconcile.Issue{{Message: "```\n</details>"}},
	}}}
	var b bytes.Buffer
	if err := Markdown(&b, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| `!` | a\\|b&lt;script&gt; | p&amp;q | g | 1 error |",
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

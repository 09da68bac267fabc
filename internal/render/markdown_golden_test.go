package render

import (
	"bytes"
	"testing"
	"time"

	"groupsync/internal/reconcile"
)

// TestGoldenMarkdown: the ordered plan is full.md (TestGolden); here the
// cut and the cache-labelled ones.
func TestGoldenMarkdown(t *testing.T) {
	at := time.Date(2025, 3, 6, 18, 30, 0, 0, time.UTC)
	cached := func() *reconcile.Plan {
		p := fullPlan()
		p.Refreshed = false
		p.Cache = &reconcile.CacheSpan{Oldest: at, Newest: at.Add(25 * time.Minute)}
		return p
	}
	tests := []struct {
		name string
		plan *reconcile.Plan
		o    MarkdownOptions
	}{
		// Some error groups whole, the rest named, the other groups
		// named then left out.
		{"cut.md", fullPlan(), MarkdownOptions{limit: 3200, FullPlanURL: "https://github.com/example/groups/actions/runs/1#artifacts"}},
		{"cut-nourl.md", fullPlan(), MarkdownOptions{limit: 2400}},
		{"cached.md", cached(), MarkdownOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := MarkdownWith(&b, tt.plan, tt.o); err != nil {
				t.Fatal(err)
			}
			if tt.o.limit > 0 {
				checkCut(t, b.String(), tt.plan, tt.o.limit)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

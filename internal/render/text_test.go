package render

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
)

// TestTextSpecExample is SPEC section 3's example, byte for byte.
func TestTextSpecExample(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, specPlan(), Options{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(specText, b.String()); diff != "" {
		t.Errorf("plan text differs from SPEC section 3 (-spec +got):\n%s", diff)
	}
}

func TestTextColor(t *testing.T) {
	var plain, colored bytes.Buffer
	if err := Text(&plain, fullPlan(), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&colored, fullPlan(), Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Error("text without colour has an escape code")
	}
	for _, m := range []string{ansiGreen + "+" + ansiReset, ansiYellow + "~" + ansiReset, ansiRed + "!" + ansiReset} {
		if !strings.Contains(colored.String(), m) {
			t.Errorf("coloured text lacks %q", m)
		}
	}
	uncolored := colored.String()
	for _, c := range []string{ansiGreen, ansiYellow, ansiRed, ansiReset} {
		uncolored = strings.ReplaceAll(uncolored, c, "")
	}
	if uncolored != plain.String() {
		t.Error("colour changes more than the marks")
	}
}

// group renders one group alone and returns its block.
func group(t *testing.T, g reconcile.GroupPlan) string {
	t.Helper()
	var b bytes.Buffer
	if err := Text(&b, &reconcile.Plan{Groups: []reconcile.GroupPlan{g}}, Options{}); err != nil {
		t.Fatal(err)
	}
	block, _, _ := strings.Cut(b.String(), "\n\n")
	return block
}

func TestTextGroups(t *testing.T) {
	members := func(n int) []reconcile.Member {
		ms := make([]reconcile.Member, n)
		for i := range ms {
			ms[i] = reconcile.Member{ID: string(rune('a' + i))}
		}
		return ms
	}
	tests := []struct {
		name string
		g    reconcile.GroupPlan
		want string
	}{
		{"create unnamed without owner",
			reconcile.GroupPlan{Key: "k", Vendor: "yunzhijia", Action: "+", GroupID: reconcile.Placeholder,
				Create: &reconcile.CreateStep{Members: members(1)}},
			"+ k  create yunzhijia group (named by the vendor) (1 member)"},
		{"create owner shown by id when no handle",
			reconcile.GroupPlan{Key: "k", Vendor: "yunzhijia", Action: "+", Owner: &reconcile.Member{ID: "5b50"},
				Create: &reconcile.CreateStep{Name: "n", Members: []reconcile.Member{}}},
			`+ k  create yunzhijia group "n" (owner 5b50, 0 members)`},
		{"create lunkr topic",
			reconcile.GroupPlan{Key: "k", Vendor: "lunkr", Action: "+",
				Create: &reconcile.CreateStep{Name: "n", Type: "topic", Members: members(2)}},
			`+ k  create lunkr group "n" (type topic, 2 members)`},
		{"create lunkr broadcast",
			reconcile.GroupPlan{Key: "k", Vendor: "lunkr", Action: "+",
				Create: &reconcile.CreateStep{Name: "n", Type: "sysTopic", Members: members(1), Subscribers: members(1)}},
			`+ k  create lunkr group "n" (type sysTopic, 1 member, 1 subscriber)`},
		{"ten members listed in full",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g", Add: members(10)},
			"~ k  g\n    + add members: a, b, c, d, e, f, g, h, i, j"},
		{"eleven members cut",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g", Add: members(11)},
			"~ k  g\n    + add members: a, b, c, d, e, f, g, h, i, j, … and 1 more"},
		{"handle equal to id shown once",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g", Add: []reconcile.Member{{Handle: "x@y.z", ID: "x@y.z"}}},
			"~ k  g\n    + add members: x@y.z"},
		{"banner without title",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g", Banners: []reconcile.PostStep{
				{Banner: &reconcile.Banner{WebpageURL: "https://w/x"}}, {Banner: &reconcile.Banner{}}}},
			"~ k  g\n    + banner https://w/x\n    + banner (untitled)"},
		{"adopt",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g", Bind: &reconcile.Bind{Kind: reconcile.BindAdopt, GroupID: "g", Reason: "manifest pins the group id"}},
			"~ k  g\n    ~ adopt group g: manifest pins the group id"},
		{"inline error with hint",
			reconcile.GroupPlan{Key: "k", Action: "!", GroupID: "g", Errors: []reconcile.Issue{{Message: "gone", Fix: "forget it"}}},
			"! k  g  error: gone\n    hint: forget it"},
		{"inline error without group id",
			reconcile.GroupPlan{Key: "k", Action: "!", Errors: []reconcile.Issue{{Message: "lost"}}},
			"! k  error: lost"},
		{"two items nested",
			reconcile.GroupPlan{Key: "k", Action: "!", GroupID: "g",
				Drift:  []reconcile.Drift{{Kind: reconcile.DriftName, Live: "a", Desired: "b", Fix: "rename by hand"}},
				Errors: []reconcile.Issue{{Message: "m", Fix: "f"}}},
			"! k  g\n    ! name is \"a\" on the vendor, manifest says \"b\": rename by hand\n    ! error: m\n      hint: f"},
		{"one drift on an update group stays nested",
			reconcile.GroupPlan{Key: "k", Action: "~", GroupID: "g",
				Bind:  &reconcile.Bind{Kind: reconcile.BindRename, From: "old"},
				Drift: []reconcile.Drift{{Fix: "do it by hand"}}},
			"~ k  g\n    ~ renamed from old (state moves to this key)\n    ! do it by hand"},
		{"extra members listed after the fix",
			reconcile.GroupPlan{Key: "k", Action: "!", GroupID: "g", Drift: []reconcile.Drift{{Kind: reconcile.DriftExtraMember,
				Members: []reconcile.Member{{ID: "x"}, {ID: "y"}}, Fix: "not in manifest, no removal API"}}},
			"! k  g  not in manifest, no removal API: x, y"},
		{"missing members named by the fix are cut there",
			reconcile.GroupPlan{Key: "k", Action: "!", GroupID: "g", Drift: []reconcile.Drift{{Kind: reconcile.DriftMissingMember,
				Members: members(12), Fix: "lunkr cannot add members: add a, b, c, d, e, f, g, h, i, j, k, l by hand"}}},
			"! k  g  lunkr cannot add members: add a, b, c, d, e, f, g, h, i, j, … and 2 more by hand"},
		{"control characters escaped",
			reconcile.GroupPlan{Key: "k\x1b[2J", Action: "!", GroupID: "g", Errors: []reconcile.Issue{{Message: "bad\nline\u202e"}}},
			`! k\x1b[2J  g  error: bad\nline\u202e`},
		{"wide keys padded by columns",
			reconcile.GroupPlan{Key: "运维", Action: "~", GroupID: "g", Bind: &reconcile.Bind{Kind: reconcile.BindRetry, Reason: "r"}},
			"~ 运维  g\n    ~ r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, group(t, tt.g)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTextKeyColumn(t *testing.T) {
	p := &reconcile.Plan{Groups: []reconcile.GroupPlan{
		{Key: "运维", Action: "~", GroupID: "g1", Add: []reconcile.Member{{ID: "a"}}},
		{Key: "a-very-long-key-in-sync", Action: reconcile.ActionNone, GroupID: "g2"},
		{Key: "abcde", Action: "!", GroupID: "g3", Drift: []reconcile.Drift{{Fix: "f"}}},
	}}
	var b bytes.Buffer
	if err := Text(&b, p, Options{}); err != nil {
		t.Fatal(err)
	}
	want := "~ 运维   g1\n    + add members: a\n! abcde  g3  f\n\n"
	if got := b.String(); !strings.HasPrefix(got, want) {
		t.Errorf("got\n%s\nwant prefix\n%s", got, want)
	}
}

func TestTextNothingShown(t *testing.T) {
	noon := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		plan *reconcile.Plan
		want string
	}{
		{"empty", &reconcile.Plan{},
			"No changes. The groups match the manifests.\n\nPlan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings.\n"},
		{"orphans only", &reconcile.Plan{Orphans: []string{"a", "b"}},
			"state keys not in any manifest (left alone; run `groupsync state forget KEY`): a, b\n\nPlan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings.\n"},
		{"from an empty cache", &reconcile.Plan{Cache: &reconcile.CacheSpan{}},
			"No changes. The groups match the manifests.\n\nPlan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings.\n" +
				"From the cache (--refresh=false), not the vendors: the cache held no read of these groups; what changed on the vendors since is not shown.\n"},
		{"from the cache, read at once", &reconcile.Plan{Cache: &reconcile.CacheSpan{Oldest: noon, Newest: noon}},
			"No changes. The groups match the manifests.\n\nPlan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings.\n" +
				"From the cache (--refresh=false), not the vendors: the groups were read at 2026-11-29T12:00:00Z; what changed on the vendors since is not shown.\n"},
		{"from the cache, read over time", &reconcile.Plan{Cache: &reconcile.CacheSpan{Oldest: noon.Add(-time.Hour), Newest: noon}},
			"No changes. The groups match the manifests.\n\nPlan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings.\n" +
				"From the cache (--refresh=false), not the vendors: the groups were read between 2026-11-29T11:00:00Z and 2026-11-29T12:00:00Z; what changed on the vendors since is not shown.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Text(&b, tt.plan, Options{}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name   string
		writes int // successful writes before the failure
		render func(*failingWriter) error
	}{
		{"text", 0, func(w *failingWriter) error { return Text(w, fullPlan(), Options{}) }},
		{"text", 2, func(w *failingWriter) error { return Text(w, fullPlan(), Options{}) }},
		{"markdown", 0, func(w *failingWriter) error { return Markdown(w, fullPlan()) }},
		{"markdown", 2, func(w *failingWriter) error { return Markdown(w, fullPlan()) }},
		{"json", 0, func(w *failingWriter) error { return JSON(w, fullPlan()) }},
	}
	for _, tt := range tests {
		if err := tt.render(&failingWriter{n: tt.writes}); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s failing after %d writes: err = %v, want the writer's error", tt.name, tt.writes, err)
		}
	}
	if err := Text(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Error("Text(nil plan): no error")
	}
}

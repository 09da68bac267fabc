package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// TestBuilderInAnyOrderIsBuild adds the observations in reverse order, as
// reads arriving out of order would, and finds Build's plan.
func TestBuilderInAnyOrderIsBuild(t *testing.T) {
	renamed := yzjGroup("crew-2", bob)
	renamed.Previously = []string{"crew"}
	groups := []*spec.Group{yzjGroup("new", bob), renamed, lunkrGroup("ops", "bob@example.com"), yzjGroup("unread", carol)}
	bindings := bound("crew", "kingdee", yzjID)
	bindings["ops"] = state.Binding{Key: "ops", Provider: "coremail", GroupID: "10664"}
	bindings["unread"] = state.Binding{Key: "unread", Provider: "kingdee", GroupID: other}
	bindings["gone"] = state.Binding{Key: "gone", Provider: "kingdee", GroupID: "5b0000000000000000000000"}
	obs := map[string]Observation{
		"crew-2": {GroupID: yzjID, Group: live(yzjID, alice, other)},
		"ops":    {GroupID: "10664", Group: &vendors.Group{ID: "10664", Name: "运维", Members: []vendors.LiveMember{{ID: "1", Email: "bob@example.com"}}}},
	}
	in := Input{Manifest: &spec.Manifest{Groups: groups, Digest: "d"}, Bindings: bindings, Observed: obs,
		Caps: testCaps, Refreshed: true, Serial: 7, Now: t0}
	want := Build(in)

	b := NewBuilder(in)
	for i := len(groups) - 1; i >= 0; i-- {
		if o, ok := obs[groups[i].Key]; ok {
			b.Add(groups[i], o, true)
		}
	}
	if diff := cmp.Diff(want, b.Plan()); diff != "" {
		t.Errorf("Builder's plan differs from Build's (-build +builder):\n%s", diff)
	}
}

// TestCacheMatcherIsFromCache streams reads, the old key of a renamed group
// among them, and finds FromCache's observations.
func TestCacheMatcherIsFromCache(t *testing.T) {
	renamed := yzjGroup("crew-2", bob)
	renamed.Previously = []string{"crew"}
	moved := yzjGroup("moved", bob)
	groups := []*spec.Group{renamed, moved, yzjGroup("new", bob)}
	bindings := bound("crew", "kingdee", yzjID)
	bindings["moved"] = state.Binding{Key: "moved", Provider: "kingdee", GroupID: other}
	m := &spec.Manifest{Groups: groups}
	reads := map[string]state.Read{
		"crew":  {Key: "crew", Provider: "kingdee", GroupID: yzjID, Group: *live(yzjID, alice)},
		"moved": {Key: "moved", Provider: "kingdee", GroupID: "5b0000000000000000000000", Group: *live("5b0000000000000000000000")},
		"stray": {Key: "stray", Provider: "kingdee", GroupID: carol},
	}
	want := FromCache(m, bindings, reads)
	got := map[string]Observation{}
	set := func(g *spec.Group, o Observation) { got[g.Key] = o }
	c := NewCacheMatcher(m, bindings)
	for _, k := range []string{"stray", "crew", "moved"} {
		c.Add(reads[k], set)
	}
	c.Done(set)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CacheMatcher differs from FromCache (-want +got):\n%s", diff)
	}
	if _, ok := got["crew-2"]; !ok || len(got) != 1 {
		t.Errorf("observed %v, want crew-2 alone (from its old key's read)", got)
	}
}

func TestAppliedKeysAreTheGroupsWithMembersAdded(t *testing.T) {
	res := &Result{Groups: []GroupResult{{Key: "new", Created: true}, {Key: "crew", Added: 2}, {Key: "ops"}, {Key: "team", Added: 1}}}
	if diff := cmp.Diff([]string{"crew", "team"}, AppliedKeys(res)); diff != "" {
		t.Errorf("AppliedKeys (-want +got):\n%s", diff)
	}
}

package reconcile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

const (
	dave     = "5b8d2e61e4b07c55a92b3d07"
	operator = "5ba3f7d2e4b0e1c8d46a2b95"
	manager  = "5bc51993e4b04d27a8f60e3c"
)

var pruneCaps = map[spec.Vendor]vendors.Capabilities{
	spec.Vendor("yunzhijia"): {AddMembers: true, RemoveMembers: true, GroupInfo: true, Notices: true, Banners: true},
	spec.Vendor("lunkr"):     {ListGroups: true},
}

func buildPrune(m *spec.Manifest, live *vendors.Group, posts map[string][]state.Post, intents []state.Intent) GroupPlan {
	g := m.Groups[0]
	p := Build(Input{
		Manifest: m, Bindings: bound(g.Key, g.Provider, live.ID), Posts: posts, Intents: intents,
		Observed: map[string]Observation{g.Key: {GroupID: live.ID, Group: live}},
		Caps:     pruneCaps, Refreshed: true, Now: t0,
	})
	return p.Groups[0]
}

func pruneManifest(g *spec.Group) *spec.Manifest {
	return &spec.Manifest{
		Providers: map[string]*spec.Provider{
			"kingdee":  {Name: "kingdee", Vendor: spec.Vendor("yunzhijia"), Operator: operator},
			"coremail": {Name: "coremail", Vendor: spec.Vendor("lunkr")},
		},
		People: map[string]spec.Person{
			"carol": {Handle: "carol", IDs: map[spec.Vendor]string{spec.Vendor("yunzhijia"): carol}},
		},
		Groups: []*spec.Group{g},
	}
}

func TestPlanPrune(t *testing.T) {
	pruned := func(members ...string) *spec.Group {
		g := yzjGroup("crew", members...)
		g.Prune = true
		return g
	}
	withManagers := func(g *vendors.Group, ms ...string) *vendors.Group { g.Managers = ms; return g }
	tests := []struct {
		name   string
		group  *spec.Group
		live   *vendors.Group
		add    []string
		remove []Member
		kept   []string // extra-member drift left
		fix    string
	}{
		{
			name:   "extras removed, handles from people",
			group:  pruned(bob),
			live:   withManagers(live(yzjID, alice, bob, carol, dave), alice),
			remove: []Member{{Handle: "carol", ID: carol}, {ID: dave}},
		},
		{
			name:   "adds and removes",
			group:  pruned(bob, carol),
			live:   withManagers(live(yzjID, alice, dave), alice),
			add:    []string{bob, carol},
			remove: []Member{{ID: dave}},
		},
		{
			name:   "operator and manager kept as drift",
			group:  pruned(bob),
			live:   withManagers(live(yzjID, alice, bob, operator, manager, dave), alice, manager),
			remove: []Member{{ID: dave}},
			kept:   []string{operator, manager},
			fix:    keptFix,
		},
		{
			name:  "the owner, whom the manifest does not list as a member, stays",
			group: pruned(bob),
			live:  withManagers(live(yzjID, bob, alice), bob),
			kept:  nil,
		},
		{
			name:  "only protected extras: no removal",
			group: pruned(),
			live:  withManagers(live(yzjID, alice, manager), alice, manager),
			kept:  []string{manager},
			fix:   keptFix,
		},
		{
			name:  "prune off: drift that says how to turn it on",
			group: yzjGroup("crew", bob),
			live:  withManagers(live(yzjID, alice, bob, carol), alice),
			kept:  []string{carol},
			fix:   "not in manifest (prune is off: set prune: true to remove)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gp := buildPrune(pruneManifest(tt.group), tt.live, nil, nil)
			if d := cmp.Diff(tt.add, memberIDs(gp.Add)); len(tt.add) > 0 && d != "" {
				t.Errorf("add (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.remove, gp.Remove); d != "" {
				t.Errorf("remove (-want +got):\n%s", d)
			}
			var kept []string
			for _, d := range gp.Drift {
				if d.Kind == DriftExtraMember {
					kept = append(kept, memberIDs(d.Members)...)
					if d.Fix != tt.fix {
						t.Errorf("fix %q, want %q", d.Fix, tt.fix)
					}
				}
			}
			if d := cmp.Diff(tt.kept, kept); d != "" {
				t.Errorf("kept (-want +got):\n%s", d)
			}
			if want := len(tt.remove) > 0 || len(tt.add) > 0; (gp.Action == ActionUpdate) != want {
				t.Errorf("action %q", gp.Action)
			}
		})
	}
}

func TestPruneSummaryAndCalls(t *testing.T) {
	g := yzjGroup("crew", bob)
	g.Prune = true
	m := pruneManifest(g)
	p := Build(Input{Manifest: m, Bindings: bound("crew", "kingdee", yzjID),
		Observed: map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, carol, dave)}},
		Caps:     pruneCaps, Now: t0})
	if p.Summary.RemoveMembers != 2 || p.Summary.AddMembers != 1 || p.Summary.WriteCalls != 2 {
		t.Errorf("summary %+v: want 2 removals and 1 add in 2 calls", p.Summary)
	}
}

func TestPlanNoticeDrift(t *testing.T) {
	first := spec.Notice{Title: "窗口", Content: "周四"}
	last := spec.Notice{Title: "预案", Content: "回滚"}
	hashLast := ContentHash(Notice(last))
	posted := map[string][]state.Post{"crew": {
		{Key: "crew", Kind: state.PostNotice, Hash: ContentHash(Notice(first))},
		{Key: "crew", Kind: state.PostNotice, Hash: hashLast},
	}}
	full := func(n *vendors.Notice) *vendors.Group {
		g := live(yzjID, alice, bob)
		g.Info, g.Notice, g.Name = true, n, "发布讨论组"
		return g
	}
	tests := []struct {
		name    string
		live    *vendors.Group
		posts   map[string][]state.Post
		intents []state.Intent
		drift   []Drift
	}{
		{name: "current is the last", live: full(&vendors.Notice{Title: "预案", Content: "回滚"}), posts: posted},
		{name: "not a full read", live: live(yzjID, alice, bob), posts: posted},
		{name: "another notice", live: full(&vendors.Notice{Title: "手工", Content: "x"}), posts: posted,
			drift: []Drift{{Kind: DriftNotice, Live: "手工", Desired: "预案"}}},
		{name: "same title, other content", live: full(&vendors.Notice{Title: "预案", Content: "改过"}), posts: posted,
			drift: []Drift{{Kind: DriftNotice, Live: "预案: 改过", Desired: "预案: 回滚"}}},
		{name: "none", live: full(nil), posts: posted,
			drift: []Drift{{Kind: DriftNotice, Live: "(none)", Desired: "预案"}}},
		{name: "last still to post", live: full(&vendors.Notice{Title: "窗口", Content: "周四"}), posts: nil},
		{name: "last of unknown outcome", live: full(&vendors.Notice{Title: "窗口", Content: "周四"}), posts: nil,
			intents: []state.Intent{{ID: 1, Key: "crew", Kind: state.IntentNotice, Hash: hashLast, StartedAt: t0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := yzjGroup("crew", bob)
			g.Notices = []spec.Notice{first, last}
			gp := buildPrune(pruneManifest(g), tt.live, tt.posts, tt.intents)
			var got []Drift
			for _, d := range gp.Drift {
				if d.Kind == DriftNotice {
					if !strings.Contains(d.Fix, `"预案"`) {
						t.Errorf("fix does not name the notice: %s", d.Fix)
					}
					d.Fix = ""
					got = append(got, d)
				}
			}
			if d := cmp.Diff(tt.drift, got); d != "" {
				t.Errorf("notice drift (-want +got):\n%s", d)
			}
		})
	}
}

func TestCheckRemovals(t *testing.T) {
	g := yzjGroup("crew", bob)
	g.Prune = true
	m := pruneManifest(g)
	plan := func(key string, remove ...string) *Plan {
		gp := GroupPlan{Key: key, Provider: "kingdee"}
		for _, id := range remove {
			gp.Remove = append(gp.Remove, Member{ID: id})
		}
		return &Plan{Groups: []GroupPlan{gp}}
	}
	if err := CheckRemovals(plan("crew", carol), m); err != nil {
		t.Errorf("an extra: %v", err)
	}
	for name, p := range map[string]*Plan{
		"a member":     plan("crew", bob),
		"the owner":    plan("crew", alice),
		"the operator": plan("crew", strings.ToUpper(operator)),
		"no such key":  plan("other", carol),
	} {
		if err := CheckRemovals(p, m); err == nil || !strings.Contains(err.Error(), "refused as altered") {
			t.Errorf("%s: err = %v, want refused", name, err)
		}
	}
	g.Prune = false
	if err := CheckRemovals(plan("crew", carol), m); err == nil {
		t.Errorf("a group that does not prune: no error")
	}
}

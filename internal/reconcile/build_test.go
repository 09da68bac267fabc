package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

const (
	alice = "5b503ee9e4b02abb5318b23e"
	bob   = "5b6cea82e4b05df05b3efc2b"
	carol = "5bee6706e4b073e587c144ae"
	other = "5b90c663e4b0216ee04a768c"
	yzjID = "5bee7172e4b0f6bbaa32b4bf"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var testCaps = map[spec.Vendor]vendors.Capabilities{
	spec.Vendor("yunzhijia"): {AddMembers: true, Notices: true, Banners: true, History: true},
	spec.Vendor("lunkr"):     {ListGroups: true},
}

func yzjGroup(key string, members ...string) *spec.Group {
	g := &spec.Group{Key: key, Provider: "kingdee", Vendor: spec.Vendor("yunzhijia"), Name: "发布讨论组",
		Owner: &spec.Member{Handle: "alice", ID: alice}}
	for _, m := range members {
		g.Members = append(g.Members, &spec.Member{ID: m})
	}
	return g
}

func lunkrGroup(key string, members ...string) *spec.Group {
	g := &spec.Group{Key: key, Provider: "coremail", Vendor: spec.Vendor("lunkr"), Name: "运维", Type: spec.TypeTopic}
	for _, m := range members {
		g.Members = append(g.Members, &spec.Member{ID: m})
	}
	return g
}

func live(id string, members ...string) *vendors.Group {
	g := &vendors.Group{ID: id}
	for _, m := range members {
		g.Members = append(g.Members, vendors.LiveMember{ID: m})
	}
	return g
}

func bound(key, provider, id string) map[string]state.Binding {
	return map[string]state.Binding{key: {Key: key, Provider: provider, GroupID: id, Origin: state.OriginCreated}}
}

func build(groups []*spec.Group, bindings map[string]state.Binding, obs map[string]Observation, intents []state.Intent, posts map[string][]state.Post) *Plan {
	return Build(Input{
		Manifest: &spec.Manifest{Groups: groups, Digest: "d"},
		Bindings: bindings, Observed: obs, Intents: intents, Posts: posts,
		Caps: testCaps, Refreshed: true, Serial: 7, Now: t0,
	})
}

func TestBuildGroupSteps(t *testing.T) {
	notice := spec.Notice{Title: "发布窗口", Content: "每周四 20:00 发布"}
	noticeHash := ContentHash(Notice(notice))
	withNotice := func(g *spec.Group) *spec.Group { g.Notices = []spec.Notice{notice}; return g }
	lostCreate := []state.Intent{{ID: 3, Key: "crew", Provider: "kingdee", Kind: state.IntentCreate, StartedAt: t0}}
	lostLunkr := []state.Intent{{ID: 4, Key: "ops", Provider: "coremail", Kind: state.IntentCreate, StartedAt: t0}}

	tests := []struct {
		name     string
		group    *spec.Group
		bindings map[string]state.Binding
		obs      map[string]Observation
		intents  []state.Intent
		posts    map[string][]state.Post
		want     GroupPlan
	}{{
		name:  "missing group is created with every member but the owner, and its notice follows",
		group: withNotice(yzjGroup("crew", alice, bob, carol)),
		want: GroupPlan{Action: ActionCreate, GroupID: Placeholder,
			Create:  &CreateStep{Name: "发布讨论组", Members: []Member{{ID: bob}, {ID: carol}}},
			Notices: []PostStep{{Hash: noticeHash, Title: notice.Title, Notice: &Notice{Title: notice.Title, Content: notice.Content}}}},
	}, {
		name:     "bound group in sync plans nothing",
		group:    yzjGroup("crew", bob),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, bob)}},
		want:     GroupPlan{Action: ActionNone, GroupID: yzjID},
	}, {
		name:     "missing members are added in one step and extra members reported",
		group:    yzjGroup("crew", bob, carol),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, other)}},
		want: GroupPlan{Action: ActionUpdate, GroupID: yzjID, Add: []Member{{ID: bob}, {ID: carol}},
			Drift: []Drift{{Kind: DriftExtraMember, Members: []Member{{ID: other}}, Fix: "not in manifest, no removal API"}}},
	}, {
		name:     "a posted notice is not posted again",
		group:    withNotice(yzjGroup("crew", bob)),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, bob)}},
		posts:    map[string][]state.Post{"crew": {{Key: "crew", Kind: state.PostNotice, Hash: noticeHash}}},
		want:     GroupPlan{Action: ActionNone, GroupID: yzjID},
	}, {
		name:     "a notice whose post has an unknown outcome blocks that notice only",
		group:    withNotice(yzjGroup("crew", bob, carol)),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, bob)}},
		intents:  []state.Intent{{ID: 9, Key: "crew", Kind: state.IntentNotice, Hash: noticeHash, StartedAt: t0}},
		want: GroupPlan{Action: ActionUpdate, GroupID: yzjID, Add: []Member{{ID: carol}},
			Errors: []Issue{{Kind: IssueUnknownPost}}},
	}, {
		name:     "a failed read plans no write",
		group:    withNotice(yzjGroup("crew", bob, carol)),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrTransient}}},
		want:     GroupPlan{Action: ActionReport, GroupID: yzjID, Errors: []Issue{{Kind: IssueReadFailed}}},
	}, {
		name:     "a vanished group is an error, never recreated",
		group:    yzjGroup("crew", bob),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrNotFound}}},
		want:     GroupPlan{Action: ActionReport, GroupID: yzjID, Errors: []Issue{{Kind: IssueVanished}}},
	}, {
		name: "a pin the vendor says does not exist is not recorded, nor does it close a lost create",
		group: func() *spec.Group {
			g := yzjGroup("crew", bob)
			g.GroupID = yzjID
			return g
		}(),
		intents: lostCreate,
		obs:     map[string]Observation{"crew": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrNotFound}}},
		want:    GroupPlan{Action: ActionReport, GroupID: yzjID, Errors: []Issue{{Kind: IssueVanished}}},
	}, {
		name: "a pin replacing a binding is not recorded when the vendor says it does not exist",
		group: func() *spec.Group {
			g := yzjGroup("crew", bob)
			g.GroupID = yzjID
			return g
		}(),
		bindings: bound("crew", "kingdee", "5b0000000000000000000000"),
		obs:      map[string]Observation{"crew": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrNotFound}}},
		want:     GroupPlan{Action: ActionReport, GroupID: yzjID, Errors: []Issue{{Kind: IssueVanished}}},
	}, {
		name:     "no cached read is an error",
		group:    yzjGroup("crew", bob),
		bindings: bound("crew", "kingdee", yzjID),
		want:     GroupPlan{Action: ActionReport, GroupID: yzjID, Errors: []Issue{{Kind: IssueNotRead}}},
	}, {
		name:    "an unknown create on yunzhijia blocks the group",
		group:   yzjGroup("crew", bob),
		intents: lostCreate,
		want:    GroupPlan{Action: ActionReport, Errors: []Issue{{Kind: IssueUnknownCreate}}},
	}, {
		name: "a pin settles an unknown create",
		group: func() *spec.Group {
			g := yzjGroup("crew", bob)
			g.GroupID = yzjID
			return g
		}(),
		intents: lostCreate,
		obs:     map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, bob)}},
		want:    GroupPlan{Action: ActionUpdate, GroupID: yzjID, Bind: &Bind{Kind: BindAdopt, GroupID: yzjID, IntentID: 3}},
	}, {
		name:    "lunkr recovers the group a lost create made",
		group:   lunkrGroup("ops", "bob@example.com"),
		intents: lostLunkr,
		obs: map[string]Observation{"ops": {Searched: true, RecoveredID: "10664", GroupID: "10664", Group: &vendors.Group{ID: "10664",
			Members: []vendors.LiveMember{{ID: "7", Email: "bob@example.com"}}}}},
		want: GroupPlan{Action: ActionUpdate, GroupID: "10664", Bind: &Bind{Kind: BindRecover, GroupID: "10664", IntentID: 4}},
	}, {
		name:    "lunkr creates again when the search proves the lost create made nothing",
		group:   lunkrGroup("ops", "bob@example.com"),
		intents: lostLunkr,
		obs:     map[string]Observation{"ops": {Searched: true}},
		want: GroupPlan{Action: ActionCreate, GroupID: Placeholder, Bind: &Bind{Kind: BindRetry, IntentID: 4},
			Create: &CreateStep{Name: "运维", Type: spec.TypeTopic, Members: []Member{{ID: "bob@example.com"}}}},
	}, {
		name:    "a failed search leaves the group blocked",
		group:   lunkrGroup("ops", "bob@example.com"),
		intents: lostLunkr,
		obs:     map[string]Observation{"ops": {Searched: true, RecoveryErr: errors.New("boom")}},
		want:    GroupPlan{Action: ActionReport, Errors: []Issue{{Kind: IssueRecoveryFailed}}},
	}, {
		name:     "lunkr cannot add members: drift; emails match without case and uids match",
		group:    lunkrGroup("ops", "Bob@Example.com", "16", "carol@example.com"),
		bindings: bound("ops", "coremail", "10664"),
		obs: map[string]Observation{"ops": {GroupID: "10664", Group: &vendors.Group{ID: "10664", Name: "运维", Type: "topic",
			Members: []vendors.LiveMember{{ID: "7", Email: "bob@example.COM"}, {ID: "16", Email: "x@example.com"}}}}},
		want: GroupPlan{Action: ActionReport, GroupID: "10664",
			Drift: []Drift{{Kind: DriftMissingMember, Members: []Member{{ID: "carol@example.com"}}, Fix: "lunkr cannot add members: add carol@example.com by hand"}}},
	}, {
		name:     "lunkr name difference is drift",
		group:    lunkrGroup("ops", "bob@example.com"),
		bindings: bound("ops", "coremail", "10664"),
		obs: map[string]Observation{"ops": {GroupID: "10664", Group: &vendors.Group{ID: "10664", Name: "old", Type: "topic",
			Members: []vendors.LiveMember{{ID: "7", Email: "bob@example.com"}}}}},
		want: GroupPlan{Action: ActionReport, GroupID: "10664",
			Drift: []Drift{{Kind: DriftName, Live: "old", Desired: "运维", Fix: "lunkr has no rename API: rename the group by hand"}}},
	}, {
		name: "a renamed key keeps its vendor group",
		group: func() *spec.Group {
			g := yzjGroup("crew-2026", bob)
			g.Previously = []string{"crew"}
			return g
		}(),
		bindings: bound("crew", "kingdee", yzjID),
		obs:      map[string]Observation{"crew-2026": {GroupID: yzjID, Group: live(yzjID, alice, bob)}},
		want:     GroupPlan{Action: ActionUpdate, GroupID: yzjID, Bind: &Bind{Kind: BindRename, GroupID: yzjID, From: "crew"}},
	}}
	ignore := cmp.Options{
		cmpopts.IgnoreFields(GroupPlan{}, "Key", "Provider", "Vendor", "Name", "Operator", "Owner"),
		cmpopts.IgnoreFields(Bind{}, "Reason"),
		cmpopts.IgnoreFields(Issue{}, "Message", "Fix"),
		cmpopts.EquateEmpty(),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build([]*spec.Group{tt.group}, tt.bindings, tt.obs, tt.intents, tt.posts)
			if len(p.Groups) != 1 {
				t.Fatalf("got %d group plans, want 1", len(p.Groups))
			}
			if diff := cmp.Diff(tt.want, p.Groups[0], ignore); diff != "" {
				t.Errorf("group plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildSummaryAndOrphans(t *testing.T) {
	groups := []*spec.Group{yzjGroup("new", bob), yzjGroup("crew", bob, carol), lunkrGroup("ops", "bob@example.com")}
	bindings := bound("crew", "kingdee", yzjID)
	bindings["ops"] = state.Binding{Key: "ops", Provider: "coremail", GroupID: "10664"}
	bindings["gone"] = state.Binding{Key: "gone", Provider: "kingdee", GroupID: other}
	obs := map[string]Observation{
		"crew": {GroupID: yzjID, Group: live(yzjID, alice, other)},
		"ops":  {GroupID: "10664", Group: &vendors.Group{ID: "10664", Name: "运维", Members: []vendors.LiveMember{{ID: "1", Email: "bob@example.com"}}}},
	}
	p := build(groups, bindings, obs, nil, nil)
	want := Summary{Create: 1, AddMembers: 2, Drift: 1, InSync: 1, WriteCalls: 2}
	if diff := cmp.Diff(want, p.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone"}, p.Orphans); diff != "" {
		t.Errorf("orphans (-want +got):\n%s", diff)
	}
	if !p.CanApply() || !p.HasDrift() || p.HasErrors() {
		t.Errorf("CanApply=%v HasDrift=%v HasErrors=%v, want true true false", p.CanApply(), p.HasDrift(), p.HasErrors())
	}
	if p.StateSerial != 7 || p.ManifestDigest != "d" || p.FormatVersion != 1 {
		t.Errorf("provenance = %d %q %d", p.StateSerial, p.ManifestDigest, p.FormatVersion)
	}
}

func TestVanishedFixNamesWhatHelps(t *testing.T) {
	pinned := yzjGroup("crew", bob)
	pinned.GroupID = yzjID
	gone := map[string]Observation{"crew": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrNotFound}}}
	tests := []struct {
		name     string
		group    *spec.Group
		bindings map[string]state.Binding
		want     string
	}{
		{"a created group: forget it to create it again", yzjGroup("crew", bob), bound("crew", "kingdee", yzjID), "state forget crew"},
		{"a pinned group: forgetting would adopt it again, so change the pin", pinned, nil, "pins groupId " + yzjID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build([]*spec.Group{tt.group}, tt.bindings, gone, nil, nil)
			errs := p.Groups[0].Errors
			if len(errs) != 1 || !strings.Contains(errs[0].Fix, tt.want) {
				t.Errorf("errors = %+v, want one whose fix contains %q", errs, tt.want)
			}
		})
	}
}

func TestRenameWithAnUnreadPinMovesStateOnly(t *testing.T) {
	g := yzjGroup("crew-2026", bob)
	g.Previously = []string{"crew"}
	g.GroupID = yzjID // a pin to another group than the old key's
	old := "5b0000000000000000000000"
	for name, obs := range map[string]Observation{
		"read failed": {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrTransient}},
		"vanished":    {GroupID: yzjID, Err: &vendors.Error{Kind: vendors.ErrNotFound}},
	} {
		t.Run(name, func(t *testing.T) {
			p := build([]*spec.Group{g}, bound("crew", "kingdee", old), map[string]Observation{"crew-2026": obs}, nil, nil)
			b := p.Groups[0].Bind
			if b == nil || b.Kind != BindRename || b.GroupID != old {
				t.Errorf("bind = %+v, want a rename that keeps the old key's group %s (the pin was not read)", b, old)
			}
		})
	}
}

func TestUnknownPostNoLongerInManifestIsShown(t *testing.T) {
	g := yzjGroup("crew", bob)
	intents := []state.Intent{{ID: 9, Key: "crew", Kind: state.IntentNotice, Name: "旧公告", Hash: "h-old", StartedAt: t0}}
	obs := map[string]Observation{"crew": {GroupID: yzjID, Group: live(yzjID, alice, bob)}}
	p := build([]*spec.Group{g}, bound("crew", "kingdee", yzjID), obs, intents, nil)
	errs := p.Groups[0].Errors
	if len(errs) != 1 || errs[0].Kind != IssueUnknownPost || !strings.Contains(errs[0].Fix, "--hash h-old") {
		t.Fatalf("errors = %+v, want the unknown post shown with its hash", errs)
	}
	if p.Groups[0].Action != ActionReport {
		t.Errorf("action = %q, want %q", p.Groups[0].Action, ActionReport)
	}
}

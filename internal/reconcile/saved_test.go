package reconcile

import (
	"strings"
	"testing"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// TestCheckSaved: a plan as Build made it passes; each edit of a state
// change it records is named.
func TestCheckSaved(t *testing.T) {
	lost := []state.Intent{{ID: 7, Key: "ops", Provider: "coremail", Kind: state.IntentCreate, Name: "运维", StartedAt: t0},
		{ID: 9, Key: "elsewhere", Provider: "coremail", Kind: state.IntentCreate, Name: "x", StartedAt: t0}}
	renamed := yzjGroup("release", alice, bob)
	renamed.Previously = []string{"old-release"}
	withNotice := yzjGroup("eng", alice)
	withNotice.Notices = []spec.Notice{{Title: "值班", Content: "见 wiki"}}
	tests := []struct {
		name  string
		in    Input
		key   string
		edit  func(gp *GroupPlan)
		wants string // "" for no difference
	}{
		{name: "recover as built", key: "ops",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{lunkrGroup("ops", "a@example.com")}}, Intents: lost,
				Observed: map[string]Observation{"ops": {Searched: true, RecoveredID: "10503", GroupID: "10503", Group: &vendors.Group{ID: "10503", Members: []vendors.LiveMember{{ID: "a@example.com"}}}}}}},
		{name: "recover closing another key's intent", key: "ops",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{lunkrGroup("ops", "a@example.com")}}, Intents: lost,
				Observed: map[string]Observation{"ops": {Searched: true, RecoveredID: "10503", GroupID: "10503", Group: &vendors.Group{ID: "10503", Members: []vendors.LiveMember{{ID: "a@example.com"}}}}}},
			edit: func(gp *GroupPlan) { gp.Bind.IntentID = 9 }, wants: "group ops: recover of intent 9: the group has no such open create"},
		{name: "retry as built", key: "ops",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{lunkrGroup("ops", "a@example.com")}}, Intents: lost,
				Observed: map[string]Observation{"ops": {Searched: true}}}},
		{name: "retry binding a group", key: "ops",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{lunkrGroup("ops", "a@example.com")}}, Intents: lost,
				Observed: map[string]Observation{"ops": {Searched: true}}},
			edit: func(gp *GroupPlan) { gp.Bind.GroupID = "10999" }, wants: `group ops: retry binds group "10999"`},
		{name: "rename as built", key: "release",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{renamed}}, Bindings: bound("old-release", "kingdee", yzjID),
				Observed: map[string]Observation{"release": {GroupID: yzjID, Group: live(yzjID, alice, bob)}}}},
		{name: "rename from another key", key: "release",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{renamed}}, Bindings: bound("old-release", "kingdee", yzjID),
				Observed: map[string]Observation{"release": {GroupID: yzjID, Group: live(yzjID, alice, bob)}}},
			edit: func(gp *GroupPlan) { gp.Bind.From = "someone-else" }, wants: `group release: rename from "someone-else": the manifest renames from "old-release"`},
		{name: "members added to another group", key: "eng",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{yzjGroup("eng", alice, bob)}}, Bindings: bound("eng", "kingdee", yzjID),
				Observed: map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}}},
			edit: func(gp *GroupPlan) { gp.GroupID = other }, wants: `group eng: steps act on group "` + other + `", the manifest's is "` + yzjID + `"`},
		{name: "a notice posted twice", key: "eng",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{withNotice}}, Bindings: bound("eng", "kingdee", yzjID),
				Observed: map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}}},
			edit: func(gp *GroupPlan) { gp.Notices = append(gp.Notices, gp.Notices[0]) }, wants: "group eng: posts the same content twice"},
		{name: "a notice posted already, planned again", key: "eng",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{withNotice}}, Bindings: bound("eng", "kingdee", yzjID),
				Posts:    map[string][]state.Post{"eng": {{Key: "eng", Kind: state.PostNotice, Hash: ContentHash(Notice{Title: "值班", Content: "见 wiki"})}}},
				Observed: map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}}},
			edit: func(gp *GroupPlan) {
				n := Notice{Title: "值班", Content: "见 wiki"}
				gp.Notices = []PostStep{{Hash: ContentHash(n), Title: n.Title, Notice: &n}}
			}, wants: `group eng: notice "值班" was posted already`},
		{name: "a notice as a banner", key: "eng",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{withNotice}}, Bindings: bound("eng", "kingdee", yzjID),
				Observed: map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}}},
			edit: func(gp *GroupPlan) { gp.Banners, gp.Notices = gp.Notices, nil }, wants: `group eng: banner "值班" is not a banner`},
		{name: "a create of a bound group", key: "eng",
			in: Input{Manifest: &spec.Manifest{Groups: []*spec.Group{yzjGroup("eng", alice, bob)}}, Bindings: bound("eng", "kingdee", yzjID),
				Observed: map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}}},
			edit:  func(gp *GroupPlan) { gp.Create = &CreateStep{Name: "发布讨论组", Members: []Member{{ID: bob}}} },
			wants: "group eng: create: the group exists or its last create's outcome is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Caps, tt.in.Now = testCaps, t0
			p := Build(tt.in)
			if tt.edit != nil {
				for i := range p.Groups {
					if p.Groups[i].Key == tt.key {
						tt.edit(&p.Groups[i])
					}
				}
				p.Summary = summarise(p.Groups) // the summary is checked on its own
			}
			diffs := CheckSaved(p, tt.in.Manifest, tt.in.Bindings, tt.in.Posts, tt.in.Intents)
			got := strings.Join(diffs, "\n")
			switch {
			case tt.wants == "" && got != "":
				t.Errorf("a plan as built is refused:\n%s", got)
			case tt.wants != "" && !strings.Contains(got, tt.wants):
				t.Errorf("differences:\n%s\nwant: %s", got, tt.wants)
			}
		})
	}
}

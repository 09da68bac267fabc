package reconcile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"groupsync/internal/spec"
	"groupsync/internal/state"
)

// A key renamed without `previously:` plans a create of the same provider
// and name as an orphan key's group: the create names the orphan, so that
// the plan can suggest `previously: [old-key]`. The name compared is the one
// the binding recorded at create; other providers, other names, groups
// groupsync did not create, keys still in the manifest and a rename done
// with `previously:` are not suggested.
func TestSameNameOrphans(t *testing.T) {
	named := func(key, provider, id, name string) state.Binding {
		return state.Binding{Key: key, Provider: provider, GroupID: id, Origin: state.OriginCreated, Name: name}
	}
	renamed := yzjGroup("crew-2027", bob)
	renamed.Previously = []string{"crew-2026"}
	tests := []struct {
		name     string
		bindings []state.Binding
		want     map[string][]string // key -> SameNameOrphans
	}{
		{name: "renamed key", bindings: []state.Binding{named("crew-2026", "kingdee", yzjID, "发布讨论组")},
			want: map[string][]string{"crew-2027": {"crew-2026"}}},
		{name: "two orphans of the name", bindings: []state.Binding{named("crew-b", "kingdee", other, "发布讨论组"), named("crew-a", "kingdee", yzjID, "发布讨论组")},
			want: map[string][]string{"crew-2027": {"crew-a", "crew-b"}}},
		{name: "other provider", bindings: []state.Binding{named("crew-2026", "coremail", "10664", "发布讨论组")}},
		{name: "other name", bindings: []state.Binding{named("crew-2026", "kingdee", yzjID, "旧名")}},
		{name: "adopted: no recorded name", bindings: []state.Binding{{Key: "crew-2026", Provider: "kingdee", GroupID: yzjID, Origin: state.OriginAdopted}}},
		{name: "the key is still in the manifest", bindings: []state.Binding{named("crew-2027", "kingdee", yzjID, "发布讨论组")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bindings := map[string]state.Binding{}
			for _, b := range tt.bindings {
				bindings[b.Key] = b
			}
			p := build([]*spec.Group{yzjGroup("crew-2027", bob), lunkrGroup("ops", "bob@example.com")}, bindings, nil, nil, nil)
			got := map[string][]string{}
			for _, g := range p.Groups {
				if len(g.SameNameOrphans) > 0 {
					got[g.Key] = g.SameNameOrphans
				}
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SameNameOrphans (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("renamed with previously", func(t *testing.T) {
		p := build([]*spec.Group{renamed}, map[string]state.Binding{"crew-2026": named("crew-2026", "kingdee", yzjID, "发布讨论组")}, nil, nil, nil)
		if g := p.Groups[0]; g.Create != nil || len(g.SameNameOrphans) != 0 || len(p.Orphans) != 0 {
			t.Errorf("group = %+v, orphans %v; want the rename, no create, no suggestion", g, p.Orphans)
		}
	})
}

package spec

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const providersAndPeople = `version: 1
providers:
  kingdee:
    vendor: yunzhijia
    token: ${YZJ_TOKEN}
    operator: erin
  raw-op:
    vendor: yunzhijia
    token: ${YZJ_TOKEN}
    operator: 5B90C663E4B0216EE04A768C
  coremail:
    vendor: lunkr
    token: ${LUNKR_TOKEN}
people:
  alice: {yunzhijia: 5b503ee9e4b02abb5318b23e, lunkr: Alice@Example.com}
  bob: {yunzhijia: 5b6cea82e4b05df05b3efc2b, lunkr: "10664"}
  erin: {yunzhijia: 5b90c663e4b0216ee04a768c}
`

// loadGroup loads providersAndPeople plus one group and returns it.
func loadGroup(t *testing.T, group string) *Group {
	t.Helper()
	dir := writeFiles(t, map[string]string{"m.yaml": providersAndPeople + "groups:\n" + group})
	m, err := Load(filepath.Join(dir, "m.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m.Groups[0]
}

// TestResolveGroups checks what a valid group resolves to.
func TestResolveGroups(t *testing.T) {
	alice := &Member{Handle: "alice", ID: "5b503ee9e4b02abb5318b23e"}
	erin := &Member{Handle: "erin", ID: "5b90c663e4b0216ee04a768c"}
	tests := []struct {
		name  string
		group string
		want  Group
	}{{
		name:  "owner defaults to the operator, handle kept",
		group: "  - {key: a, provider: kingdee, members: [alice]}\n",
		want:  Group{Key: "a", Provider: "kingdee", Vendor: Yunzhijia, Owner: erin, Members: []*Member{alice}},
	}, {
		name:  "raw operator id, lower-cased",
		group: "  - {key: a, provider: raw-op}\n",
		want:  Group{Key: "a", Provider: "raw-op", Vendor: Yunzhijia, Owner: &Member{ID: "5b90c663e4b0216ee04a768c"}},
	}, {
		name:  "owner may also be a member; members kept as written",
		group: "  - {key: a, provider: kingdee, owner: alice, members: [alice, 5B6CEA82E4B05DF05B3EFC2C]}\n",
		want: Group{Key: "a", Provider: "kingdee", Vendor: Yunzhijia, Owner: alice,
			Members: []*Member{alice, {ID: "5b6cea82e4b05df05b3efc2c"}}},
	}, {
		name: "notices and banners, lengths in runes",
		group: "  - key: a\n    provider: kingdee\n    groupId: 5BEE7172E4B0F6BBAA32B4BF\n" +
			"    notices: [{title: 一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十, content: 内容}]\n" +
			"    banners: [{lightAppId: \"10104\"}]\n",
		want: Group{Key: "a", Provider: "kingdee", Vendor: Yunzhijia, Owner: erin, GroupID: "5bee7172e4b0f6bbaa32b4bf",
			Notices: []Notice{{Title: "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十", Content: "内容"}},
			Banners: []Banner{{LightAppID: "10104"}}},
	}, {
		name:  "lunkr topic by default, handles to emails or uids",
		group: "  - {key: a, provider: coremail, name: A, members: [alice, bob, carol@example.com, 42]}\n",
		want: Group{Key: "a", Provider: "coremail", Vendor: Lunkr, Name: "A", Type: TypeTopic,
			Members: []*Member{{Handle: "alice", ID: "Alice@Example.com"}, {Handle: "bob", ID: "10664"}, {ID: "carol@example.com"}, {ID: "42"}}},
	}, {
		name:  "lunkr sysTopic with subscribers",
		group: "  - {key: a, provider: coremail, type: sysTopic, name: A, members: [alice], subscribers: [bob, alice]}\n",
		want: Group{Key: "a", Provider: "coremail", Vendor: Lunkr, Name: "A", Type: TypeSysTopic,
			Members:     []*Member{{Handle: "alice", ID: "Alice@Example.com"}},
			Subscribers: []*Member{{Handle: "bob", ID: "10664"}, {Handle: "alice", ID: "Alice@Example.com"}}},
	}, {
		name:  "adopted lunkr group needs no name or members",
		group: "  - {key: a, provider: coremail, groupId: 10664, previously: [b, c]}\n",
		want:  Group{Key: "a", Provider: "coremail", Vendor: Lunkr, Type: TypeTopic, GroupID: "10664", Previously: []string{"b", "c"}},
	}, {
		name:  "aliases are followed",
		group: "  - {key: a, provider: kingdee, members: &team [alice, erin]}\n  - {key: b, provider: kingdee, members: *team}\n",
		want:  Group{Key: "a", Provider: "kingdee", Vendor: Yunzhijia, Owner: erin, Members: []*Member{alice, erin}},
	}, {
		name:  "numbers as strings",
		group: "  - {key: 2024, provider: kingdee, name: 2024}\n",
		want:  Group{Key: "2024", Provider: "kingdee", Vendor: Yunzhijia, Name: "2024", Owner: erin},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadGroup(t, tt.group)
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreFields(Group{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("group (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProviderResolved(t *testing.T) {
	m, err := Load(filepath.Join(writeFiles(t, map[string]string{"m.yaml": providersAndPeople}), "m.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*Provider{
		"kingdee": {Name: "kingdee", Vendor: Yunzhijia, Endpoint: "https://www.yunzhijia.com/gateway/",
			TokenEnv: "YZJ_TOKEN", Operator: "5b90c663e4b0216ee04a768c", OperatorHandle: "erin"},
		"raw-op": {Name: "raw-op", Vendor: Yunzhijia, Endpoint: "https://www.yunzhijia.com/gateway/",
			TokenEnv: "YZJ_TOKEN", Operator: "5b90c663e4b0216ee04a768c"},
		"coremail": {Name: "coremail", Vendor: Lunkr, Endpoint: "https://api.lunkr.cn/api/", TokenEnv: "LUNKR_TOKEN"},
	}
	if diff := cmp.Diff(want, m.Providers, cmpopts.IgnoreFields(Provider{}, "Pos")); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}
	wantAlice := Person{Handle: "alice", IDs: map[Vendor]string{Yunzhijia: "5b503ee9e4b02abb5318b23e", Lunkr: "Alice@Example.com"}}
	if diff := cmp.Diff(wantAlice, m.People["alice"]); diff != "" {
		t.Errorf("alice (-want +got):\n%s", diff)
	}
}

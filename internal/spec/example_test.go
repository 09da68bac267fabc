package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestExampleManifest: examples/groups.yaml loads with no error and
// resolves as documented in its comments.
func TestExampleManifest(t *testing.T) {
	m, err := Load("../../examples/groups.yaml")
	if err != nil {
		t.Fatalf("examples/groups.yaml: %v", err)
	}
	if len(m.People) != 8 || len(m.Groups) != 8 || len(m.Groups) > 20 {
		t.Errorf("%d people, %d groups; want 8 and 8", len(m.People), len(m.Groups))
	}
	kingdee := &Provider{Name: "kingdee", Vendor: Yunzhijia, Endpoint: "https://www.yunzhijia.com/gateway/",
		Auth: &Auth{Values: map[string]string{"eid": "10109"}, Env: map[string]string{"secret": "YZJ_IM_SECRET"}}, Operator: "5b90c663e4b0216ee04a768c", OperatorHandle: "erin", Workspace: "10109", RateLimit: 20}
	coremail := &Provider{Name: "coremail", Vendor: Lunkr, Endpoint: "https://api.lunkr.cn/api/",
		Auth: &Auth{Values: map[string]string{"clientId": "lk-app-1"}, Env: map[string]string{"clientSecret": "LUNKR_APP_SECRET"}}}
	wework := &Provider{Name: "wework", Vendor: Vendor("wecom"), Endpoint: "https://qyapi.weixin.qq.com/cgi-bin/",
		Auth: &Auth{Values: map[string]string{"corpId": "ww0123456789abcdef"}, Env: map[string]string{"corpSecret": "WECOM_SECRET"}}}
	if diff := cmp.Diff(map[string]*Provider{"kingdee": kingdee, "coremail": coremail, "wework": wework}, m.Providers,
		cmpopts.IgnoreFields(Provider{}, "Pos")); diff != "" {
		t.Errorf("providers (-want +got):\n%s", diff)
	}

	byKey := map[string]*Group{}
	for _, g := range m.Groups {
		byKey[g.Key] = g
	}
	alice := &Member{Handle: "alice", ID: "5b503ee9e4b02abb5318b23e"}
	bob := &Member{Handle: "bob", ID: "5b6cea82e4b05df05b3efc2b"}
	grace := &Member{Handle: "grace", ID: "5bb4082ae4b09f6e7d3c1a68"}
	want := []*Group{
		{Key: "legacy-room", Provider: "kingdee", Vendor: Yunzhijia, Owner: alice, GroupID: "5bee7172e4b0f6bbaa32b4bf",
			Members: []*Member{bob, grace}},
		{Key: "ops-broadcast", Provider: "coremail", Vendor: Lunkr, Type: TypeSysTopic, Name: "运维广播",
			Members: []*Member{{Handle: "erin", ID: "erin@example.com"}},
			Subscribers: []*Member{
				{Handle: "alice", ID: "alice@example.com"}, {Handle: "bob", ID: "bob@example.com"},
				{Handle: "carol", ID: "carol@example.com"}, {Handle: "dave", ID: "dave@example.com"},
				{Handle: "frank", ID: "frank@example.com"}, {Handle: "grace", ID: "grace@example.com"},
				{Handle: "heidi", ID: "heidi@example.com"},
			}},
	}
	for _, w := range want {
		if diff := cmp.Diff(w, byKey[w.Key], cmpopts.IgnoreFields(Group{}, "Pos"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("group %s (-want +got):\n%s", w.Key, diff)
		}
	}

	frank := &Member{Handle: "frank", ID: "frank.z"}
	fs := byKey["field-sales"]
	if fs == nil || fs.Owner == nil || *fs.Owner != *frank || len(fs.Members) != 3 || !fs.Prune {
		t.Errorf("field-sales = %+v, want owner frank (frank.z), 3 members, prune", fs)
	}
	if ss := byKey["support-shift"]; ss == nil || ss.GroupID != "wrSupportShift2024" {
		t.Errorf("support-shift = %+v, want the pinned chatid", ss)
	}

	rc := byKey["release-crew"]
	if rc.Owner.Label() != "bob (5b6cea82e4b05df05b3efc2b)" || len(rc.Members) != 4 || len(rc.Notices) != 2 ||
		len(rc.Banners) != 1 || !cmp.Equal(rc.Previously, []string{"release-team"}) {
		t.Errorf("release-crew = %+v", rc)
	}
	if h := byKey["it-helpdesk"]; h.Owner == nil || h.Owner.Handle != "erin" {
		t.Errorf("it-helpdesk owner = %+v, want the operator erin", h.Owner)
	}
	if byKey["dev-chat"].Type != TypeTopic || byKey["company-square"].Type != TypePublic {
		t.Errorf("lunkr types: dev-chat %q, company-square %q", byKey["dev-chat"].Type, byKey["company-square"].Type)
	}
}

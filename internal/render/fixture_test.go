package render

import (
	"fmt"
	"time"

	"groupsync/internal/reconcile"
)

var (
	alice = reconcile.Member{Handle: "alice", ID: "5b503ee9e4b02abb5318b23e"}
	bob   = reconcile.Member{Handle: "bob", ID: "5b6cea82e4b05df05b3efc2b"}
)

// specText is the plan SPEC section 3 shows, byte for byte.
const specText = `+ release-crew  create yunzhijia group "发布讨论组" (owner alice, 2 members)
    + notice "发布窗口"
~ legacy-room   5bee7172e4b0f6bbaa32b4bf
    + add members: bob (5b6cea82e4b05df05b3efc2b)
    ! not in manifest, no removal API: 5b90c663e4b0216ee04a768c
! lk-legacy     10664  lunkr cannot add members: add bob@example.com by hand

Plan: 1 group to create, 1 member to add, 1 notice, 0 banners; 2 drift warnings.
`

// specPlan is the plan behind specText.
func specPlan() *reconcile.Plan {
	return &reconcile.Plan{
		FormatVersion:  reconcile.FormatVersion,
		CreatedAt:      time.Date(2025, 3, 6, 20, 0, 0, 0, time.UTC),
		ManifestFiles:  []string{"groups.yaml"},
		ManifestDigest: "sha256:0f1e2d",
		StateSerial:    7,
		Refreshed:      true,
		Groups: []reconcile.GroupPlan{
			{
				Key: "release-crew", Provider: "kingdee", Vendor: "yunzhijia", Name: "发布讨论组",
				Action: reconcile.ActionCreate, GroupID: reconcile.Placeholder,
				Operator: alice.ID, Owner: &alice,
				Create: &reconcile.CreateStep{Name: "发布讨论组",
					Members: []reconcile.Member{bob, {ID: "5bee6706e4b073e587c144ae"}}},
				Notices: []reconcile.PostStep{{Hash: "9a1c", Title: "发布窗口",
					Notice: &reconcile.Notice{Title: "发布窗口", Content: "每周四 20:00 发布"}}},
			},
			{
				Key: "legacy-room", Provider: "kingdee", Vendor: "yunzhijia",
				Action: reconcile.ActionUpdate, GroupID: "5bee7172e4b0f6bbaa32b4bf",
				Operator: alice.ID, Owner: &alice,
				Add: []reconcile.Member{bob},
				Drift: []reconcile.Drift{{Kind: reconcile.DriftExtraMember,
					Members: []reconcile.Member{{ID: "5b90c663e4b0216ee04a768c"}},
					Fix:     "not in manifest, no removal API"}},
			},
			{
				Key: "in-sync", Provider: "kingdee", Vendor: "yunzhijia",
				Action: reconcile.ActionNone, GroupID: "5bee0000e4b0f6bbaa32b4bf",
			},
			{
				Key: "lk-legacy", Provider: "coremail", Vendor: "lunkr", Name: "旧群",
				Action: reconcile.ActionReport, GroupID: "10664",
				Drift: []reconcile.Drift{{Kind: reconcile.DriftMissingMember,
					Members: []reconcile.Member{{Handle: "bob", ID: "bob@example.com"}},
					Fix:     "lunkr cannot add members: add bob@example.com by hand"}},
			},
		},
		Summary: reconcile.Summary{Create: 1, AddMembers: 1, Notices: 1, Drift: 2, InSync: 1, WriteCalls: 3},
	}
}

// fullPlan has every kind of step, binding, drift and error, long lists,
// hostile strings and orphans.
func fullPlan() *reconcile.Plan {
	p := specPlan()
	many := func(prefix string, n int, handles bool) []reconcile.Member {
		out := make([]reconcile.Member, n)
		for i := range out {
			out[i].ID = fmt.Sprintf("%s%02d@example.com", prefix, i)
			if handles {
				out[i].Handle = fmt.Sprintf("%s%02d", prefix, i)
			}
		}
		return out
	}
	ids := func(ms []reconcile.Member) string {
		s := ""
		for i, m := range ms {
			if i > 0 {
				s += ", "
			}
			s += m.ID
		}
		return s
	}
	missing := many("new", 12, true)
	subs := many("sub", 3, false)
	yzj := func(key string) reconcile.GroupPlan {
		return reconcile.GroupPlan{Key: key, Provider: "kingdee", Vendor: "yunzhijia", Operator: alice.ID, Owner: &alice}
	}
	lk := func(key string) reconcile.GroupPlan {
		return reconcile.GroupPlan{Key: key, Provider: "coremail", Vendor: "lunkr"}
	}
	var gs []reconcile.GroupPlan

	g := yzj("unnamed")
	g.Owner = &reconcile.Member{ID: "5b503ee9e4b02abb5318b23e"}
	g.Action, g.GroupID = reconcile.ActionCreate, reconcile.Placeholder
	g.Create = &reconcile.CreateStep{Members: []reconcile.Member{bob}}
	g.Banners = []reconcile.PostStep{
		{Hash: "b1", Title: "Runbook", Banner: &reconcile.Banner{Title: "Runbook", WebpageURL: "https://wiki.example.com/release"}},
		{Hash: "b2", Banner: &reconcile.Banner{WebpageURL: "https://wiki.example.com/oncall"}},
		{Hash: "b3", Banner: &reconcile.Banner{Content: "no title, no page"}},
	}
	gs = append(gs, g)

	g = lk("ops-broadcast")
	g.Name = "运维广播"
	g.Action, g.GroupID = reconcile.ActionCreate, reconcile.Placeholder
	g.Create = &reconcile.CreateStep{Name: "运维广播", Type: "sysTopic",
		Members: []reconcile.Member{{Handle: "alice", ID: "alice@example.com"}}, Subscribers: subs}
	g.SameNameOrphans = []string{"old-crew"}
	gs = append(gs, g)

	g = lk("retried")
	g.Name = "重试"
	g.Action, g.GroupID = reconcile.ActionCreate, reconcile.Placeholder
	g.Bind = &reconcile.Bind{Kind: reconcile.BindRetry, IntentID: 4,
		Reason: `the create sent at 2025-03-06T19:00:00Z made no group: lunkr lists none named "重试" since`}
	g.Create = &reconcile.CreateStep{Name: "重试", Type: "topic", Members: []reconcile.Member{}}
	gs = append(gs, g)

	g = yzj("adopted")
	g.Action, g.GroupID = reconcile.ActionUpdate, "5bee1111e4b0f6bbaa32b4bf"
	g.Bind = &reconcile.Bind{Kind: reconcile.BindAdopt, GroupID: g.GroupID, Reason: "manifest pins the group id"}
	g.Add = many("m", 13, true)
	g.Notices = []reconcile.PostStep{{Hash: "n2", Title: "新 \"规则\"", Notice: &reconcile.Notice{Title: "新 \"规则\"", Content: "x"}}}
	gs = append(gs, g)

	g = yzj("renamed-room")
	g.Action, g.GroupID = reconcile.ActionUpdate, "5bee2222e4b0f6bbaa32b4bf"
	g.Bind = &reconcile.Bind{Kind: reconcile.BindRename, GroupID: g.GroupID, From: "old-room", Reason: "renamed from old-room"}
	gs = append(gs, g)

	g = lk("recovered")
	g.Action, g.GroupID = reconcile.ActionUpdate, "20001"
	g.Bind = &reconcile.Bind{Kind: reconcile.BindRecover, GroupID: "20001", IntentID: 3,
		Reason: "the create sent at 2025-03-06T19:00:00Z made group 20001"}
	g.Drift = []reconcile.Drift{{Kind: reconcile.DriftMissingMember, Members: missing,
		Fix: "lunkr cannot add members: add " + ids(missing) + " by hand"}}
	gs = append(gs, g)

	g = lk("drifting")
	g.Action, g.GroupID = reconcile.ActionReport, "30003"
	g.Drift = []reconcile.Drift{
		{Kind: reconcile.DriftExtraMember, Members: many("x", 11, false), Fix: "not in manifest, no removal API"},
		{Kind: reconcile.DriftMissingSubscriber, Members: subs[:1], Fix: "lunkr cannot add subscribers: add " + subs[0].ID + " by hand"},
		{Kind: reconcile.DriftExtraSubscriber, Members: subs[1:], Fix: "subscribers not in manifest, no removal API"},
		{Kind: reconcile.DriftName, Live: "旧名", Desired: "新名", Fix: "lunkr has no rename API: rename the group by hand"},
		{Kind: reconcile.DriftType, Live: "topic", Desired: "sysTopic", Fix: "a group's type cannot change: recreate it by hand and pin the new id"},
	}
	gs = append(gs, g)

	g = yzj("gone")
	g.Action, g.GroupID = reconcile.ActionReport, "5bee3333e4b0f6bbaa32b4bf"
	g.Errors = []reconcile.Issue{{Kind: reconcile.IssueVanished,
		Message: "yunzhijia says group 5bee3333e4b0f6bbaa32b4bf does not exist",
		Fix:     "run `groupsync state forget gone` to create it again, or pin another id with groupId:"}}
	gs = append(gs, g)

	g = yzj("lost-create")
	g.Action = reconcile.ActionReport
	g.Errors = []reconcile.Issue{{Kind: reconcile.IssueUnknownCreate,
		Message: "create sent at 2025-03-06T19:00:00Z has an unknown outcome; it may have made the group",
		Fix:     "find the group on yunzhijia and pin it with groupId: (or `groupsync state import lost-create ID`), or `groupsync state forget lost-create` to create it again"}}
	gs = append(gs, g)

	g = lk("lost-search")
	g.Action = reconcile.ActionReport
	g.Errors = []reconcile.Issue{{Kind: reconcile.IssueRecoveryFailed,
		Message: "create sent at 2025-03-06T19:00:00Z has an unknown outcome and the search for it failed: 10006 no permission",
		Fix:     "find the group on lunkr and pin it with groupId: (or `groupsync state import lost-search ID`), or `groupsync state forget lost-search` to create it again"}}
	gs = append(gs, g)

	g = yzj("flaky|<b>")
	g.Action, g.GroupID = reconcile.ActionReport, "5bee4444e4b0f6bbaa32b4bf"
	g.Errors = []reconcile.Issue{
		{Kind: reconcile.IssueReadFailed,
			Message: "read failed, nothing planned for this group: POST https://www.yunzhijia.com/gateway/xtinterface/group/groupUsers?accessToken=REDACTED: 502 Bad Gateway\n\x1b[31m<html>",
			Fix:     "run plan again; if it persists, check the provider's endpoint, token and operator"},
		{Kind: reconcile.IssueNotRead, Message: "no cached read of group 5bee4444e4b0f6bbaa32b4bf"},
	}
	gs = append(gs, g)

	g = yzj("half-posted")
	g.Action, g.GroupID = reconcile.ActionUpdate, "5bee5555e4b0f6bbaa32b4bf"
	g.Notices = []reconcile.PostStep{{Hash: "n3", Title: "值班表", Notice: &reconcile.Notice{Title: "值班表", Content: "y"}}}
	g.Errors = []reconcile.Issue{{Kind: reconcile.IssueUnknownPost,
		Message: `notice "旧值班表" sent at 2025-03-06T19:00:00Z has an unknown outcome; it may be posted`,
		Fix:     "check the group: if it is there run `groupsync state resolve half-posted posted`, if not `groupsync state resolve half-posted not-posted`"}}
	gs = append(gs, g)

	g = lk("不同步")
	g.Action, g.GroupID = reconcile.ActionReport, "40004"
	g.Drift = []reconcile.Drift{{Kind: reconcile.DriftName, Live: "a", Desired: "b", Fix: "lunkr has no rename API: rename the group by hand"}}
	gs = append(gs, g)

	p.Groups = append(p.Groups, gs...)
	p.Orphans = []string{"old-crew", "retired-room"}
	p.Summary = reconcile.Summary{Create: 4, Adopt: 1, AddMembers: 14, Notices: 3, Banners: 3,
		Drift: 9, Errors: 6, InSync: 1, WriteCalls: 12, StateWrites: 3}
	return p
}

// emptyPlan has nothing to do and nothing to report.
func emptyPlan() *reconcile.Plan {
	return &reconcile.Plan{
		FormatVersion: reconcile.FormatVersion,
		CreatedAt:     time.Date(2025, 3, 6, 20, 0, 0, 0, time.UTC),
		ManifestFiles: []string{"groups.yaml"}, ManifestDigest: "sha256:0f1e2d", StateSerial: 9, Refreshed: true,
		Groups: []reconcile.GroupPlan{{Key: "release-crew", Provider: "kingdee", Vendor: "yunzhijia",
			Action: reconcile.ActionNone, GroupID: "5bee7172e4b0f6bbaa32b4bf"}},
		Summary: reconcile.Summary{InSync: 1},
	}
}

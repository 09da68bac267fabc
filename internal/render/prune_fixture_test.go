package render

import (
	"fmt"
	"time"

	"groupsync/internal/reconcile"
)

// prunePlan has removals (prune): one group that adds then removes, one
// that only removes a long list, extras prune keeps (owner, operator,
// managers) and a notice drift from a full read.
func prunePlan() *reconcile.Plan {
	carol := reconcile.Member{Handle: "carol", ID: "5bee6706e4b073e587c144ae"}
	many := make([]reconcile.Member, 12)
	for i := range many {
		many[i].ID = fmt.Sprintf("5bee%020x", i)
	}
	return &reconcile.Plan{
		FormatVersion:  reconcile.FormatVersion,
		CreatedAt:      time.Date(2025, 3, 6, 20, 0, 0, 0, time.UTC),
		ManifestFiles:  []string{"groups.yaml"},
		ManifestDigest: "sha256:0f1e2d",
		StateSerial:    8,
		Refreshed:      true,
		Groups: []reconcile.GroupPlan{
			{
				Key: "release-crew", Provider: "kingdee", Vendor: "yunzhijia", Name: "发布讨论组",
				Action: reconcile.ActionUpdate, GroupID: "5bee7172e4b0f6bbaa32b4bf",
				Operator: alice.ID, Owner: &alice,
				Add:    []reconcile.Member{bob},
				Remove: []reconcile.Member{carol, {ID: "5b90c663e4b0216ee04a768c"}},
				Drift: []reconcile.Drift{{Kind: reconcile.DriftExtraMember,
					Members: []reconcile.Member{{ID: "5b50428ce4b091389c3b3777"}},
					Fix:     "not in manifest, but prune never removes the group's owner, the provider's operator or a manager: remove by hand, or list them in members"}},
			},
			{
				Key: "big-room", Provider: "kingdee", Vendor: "yunzhijia",
				Action: reconcile.ActionUpdate, GroupID: "5bee1111e4b0f6bbaa32b4bf",
				Operator: alice.ID, Owner: &alice,
				Remove: many,
			},
			{
				Key: "notice-room", Provider: "kingdee", Vendor: "yunzhijia", Name: "值班",
				Action: reconcile.ActionReport, GroupID: "5bee2222e4b0f6bbaa32b4bf",
				Operator: alice.ID, Owner: &alice,
				Drift: []reconcile.Drift{
					{Kind: reconcile.DriftName, Live: "值班群", Desired: "值班", Fix: "yunzhijia has no rename API: rename the group by hand"},
					{Kind: reconcile.DriftNotice, Live: "旧规则", Desired: "新规则",
						Fix: `the current notice is not the manifest's last one (posted or withdrawn outside groupsync): post "新规则" again in the yunzhijia app, or make the current notice the manifest's last`},
				},
			},
		},
		Summary: reconcile.Summary{AddMembers: 1, RemoveMembers: 14, Drift: 3, WriteCalls: 3},
	}
}

package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/yunzhijia"
)

// manifestWith is manifest with extra lines added to the kingdee provider.
func (w *world) manifestWith(providerLines, groups string) *spec.Manifest {
	w.t.Helper()
	w.n++
	path := filepath.Join(w.dir, fmt.Sprintf("groups-%d.yaml", w.n))
	head := strings.Replace(fmt.Sprintf(manifestHead, w.yzjSrv.URL, w.lkSrv.URL), "    operator: erin\n", "    operator: erin\n"+providerLines, 1)
	if err := os.WriteFile(path, []byte(head+groups), 0o600); err != nil {
		w.t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		w.t.Fatalf("manifest: %v\n%s", err, head+groups)
	}
	return m
}

// order records the vendor calls an apply makes, in order, by method.
type order struct {
	vendors.Client
	mu    *sync.Mutex
	calls *[]string
}

func (o order) AddMembers(ctx context.Context, gid, op string, ids []string) error {
	o.record("add " + gid)
	return o.Client.AddMembers(ctx, gid, op, ids)
}

func (o order) RemoveMembers(ctx context.Context, gid, op string, ids []string) error {
	o.record("remove " + gid)
	return o.Client.RemoveMembers(ctx, gid, op, ids)
}

func (o order) record(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	*o.calls = append(*o.calls, s)
}

const (
	prunedID = "5e00000000000000000000b1"
	keptID   = "5e00000000000000000000b2"
)

// TestE2EPrune: a pruned group loses exactly its extra members, in one call
// made after the add; the owner, the operator and a manager among the
// extras stay drift; a group that opts out keeps its extras as drift; a
// second apply makes no call.
func TestE2EPrune(t *testing.T) {
	w := newWorld(t)
	// pruned: alice owns it, dave manages it, erin is the provider's
	// operator; carol and stranger are extras; bob is missing.
	w.yzj.SeedGroup(vendors.Group{ID: prunedID, Managers: []string{alice, dave},
		Members: []vendors.LiveMember{{ID: alice}, {ID: carol}, {ID: dave}, {ID: erin}, {ID: stranger}}})
	w.yzj.SeedGroup(vendors.Group{ID: keptID, Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: stranger}}})
	m := w.manifestWith("    prune: true\n", `  - key: pruned
    provider: kingdee
    groupId: `+prunedID+`
    owner: alice
    members: [bob]
  - key: kept
    provider: kingdee
    groupId: `+keptID+`
    owner: alice
    members: []
    prune: false
`)
	p := w.plan(m)
	got := steps(p)
	want := map[string]step{
		"pruned": {Action: reconcile.ActionUpdate, Bind: reconcile.BindAdopt, Add: []string{bob},
			Drift: []string{"extra-member:" + dave + "," + erin}},
		"kept": {Action: reconcile.ActionUpdate, Bind: reconcile.BindAdopt, Drift: []string{"extra-member:" + stranger}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
	g := groupByKey(t, p, "pruned")
	if d := cmp.Diff([]reconcile.Member{{Handle: "carol", ID: carol}, {ID: stranger}}, g.Remove); d != "" {
		t.Errorf("removals (-want +got):\n%s", d)
	}
	if p.Summary.RemoveMembers != 2 || p.Summary.WriteCalls != 2 {
		t.Errorf("summary %+v, want 2 removals and 2 write calls", p.Summary)
	}

	w.resetCalls()
	var mu sync.Mutex
	var calls []string
	clients := w.clients(m)
	clients["kingdee"] = order{clients["kingdee"], &mu, &calls}
	res := (&reconcile.Applier{Clients: clients, Journal: w.store, Parallelism: 4}).Apply(context.Background(), p)
	if res.Failed != 0 || res.Added != 1 || res.Removed != 2 {
		t.Fatalf("apply: %+v", res)
	}
	if d := cmp.Diff(map[string]int{yunzhijia.CallAddGroupUser: 1, yunzhijia.CallDelGroupUser: 1}, w.writes()); d != "" {
		t.Errorf("write calls (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"add " + prunedID, "remove " + prunedID}, calls); d != "" {
		t.Errorf("call order (-want +got):\n%s", d)
	}
	live, _ := w.yzj.Group(prunedID)
	if d := cmp.Diff(sorted(alice, bob, dave, erin), memberIDs(live)); d != "" {
		t.Errorf("pruned group's members (-want +got):\n%s", d)
	}
	if live, _ := w.yzj.Group(keptID); len(live.Members) != 2 {
		t.Errorf("kept group lost members: %v", memberIDs(live))
	}

	// Converged: the next plan removes no one, and an apply calls nothing.
	w.resetCalls()
	p = w.plan(m)
	if g := groupByKey(t, p, "pruned"); len(g.Remove) != 0 || len(g.Add) != 0 {
		t.Errorf("second plan: add %v remove %v", g.Add, g.Remove)
	}
	w.apply(m, p)
	if got := w.writes(); len(got) != 0 {
		t.Errorf("second apply made write calls: %v", got)
	}
	// The cache knows the removal: a plan from it removes no one either.
	if g := groupByKey(t, w.planCached(m), "pruned"); len(g.Remove) != 0 {
		t.Errorf("cached plan removes %v", g.Remove)
	}
}

// TestE2EPruneAfterApplyCache: after an apply removes members, a plan from
// the cache alone (no read) does not plan the removal again.
func TestE2EPruneCacheAfterApply(t *testing.T) {
	w := newWorld(t)
	w.yzj.SeedGroup(vendors.Group{ID: prunedID, Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: bob}, {ID: stranger}}})
	m := w.manifestWith("", `  - key: pruned
    provider: kingdee
    groupId: `+prunedID+`
    owner: alice
    members: [bob]
    prune: true
`)
	w.converge(m)
	if g := groupByKey(t, w.planCached(m), "pruned"); len(g.Remove) != 0 || len(g.Drift) != 0 {
		t.Errorf("cached plan after apply: remove %v drift %v", g.Remove, g.Drift)
	}
}

// TestE2EReadFull: read: full reads groupInfo beside groupUsers, and shows
// a name that differs and a current notice that is not the manifest's last
// as drift; read: members (the default) reads once and shows neither.
func TestE2EReadFull(t *testing.T) {
	const groups = `  - key: crew
    provider: kingdee
    groupId: ` + prunedID + `
    name: 发布讨论组
    owner: alice
    members: [bob]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
`
	for _, tc := range []struct {
		name, lines string
		reads       map[string]int
		drift       []string
	}{
		{"members", "", map[string]int{yunzhijia.CallGroupUsers: 1}, nil},
		{"full", "    read: full\n", map[string]int{yunzhijia.CallGroupUsers: 1, yunzhijia.CallGroupInfo: 1},
			[]string{"name:旧名->发布讨论组", "notice:手工公告->发布窗口"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.yzj.SeedGroup(vendors.Group{ID: prunedID, Name: "旧名", Managers: []string{alice},
				Members: []vendors.LiveMember{{ID: alice}, {ID: bob}}})
			m := w.manifestWith(tc.lines, groups)
			w.converge(m) // adopts and posts the notice
			if tc.name == "full" {
				// Converged: the notice just posted is the current one.
				// The cache knows the notice posted: a plan from it agrees.
				if d := cmp.Diff([]string{"name:旧名->发布讨论组"}, steps(w.planCached(m))["crew"].Drift); d != "" {
					t.Errorf("cached drift after apply (-want +got):\n%s", d)
				}
				p := w.plan(m)
				if d := cmp.Diff([]string{"name:旧名->发布讨论组"}, steps(p)["crew"].Drift); d != "" {
					t.Errorf("drift after apply (-want +got):\n%s", d)
				}
			}
			// Someone posts another notice by hand.
			c := w.clients(m)["kingdee"]
			if _, err := c.PostNotice(context.Background(), prunedID, alice, vendors.Notice{Title: "手工公告", Content: "x"}); err != nil {
				t.Fatal(err)
			}
			w.resetCalls()
			p := w.plan(m)
			if d := cmp.Diff(tc.reads, w.calls()); d != "" {
				t.Errorf("reads (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.drift, steps(p)["crew"].Drift); d != "" {
				t.Errorf("drift (-want +got):\n%s", d)
			}
			if p.CanApply() {
				t.Errorf("drift alone made changes: %+v", p.Summary)
			}
		})
	}
}

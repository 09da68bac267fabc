package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/wecom"
)

// chosenWorld is a simulator of a vendor whose client chooses group ids
// and changes a group in one call (WeCom), behind real HTTP, and a state.
type chosenWorld struct {
	t     *testing.T
	sim   *wecom.Simulator
	srv   *httptest.Server
	dir   string
	store *state.Store
	n     int
}

const chosenToken = "wecom-e2e-token"

func newChosenWorld(t *testing.T) *chosenWorld {
	t.Helper()
	w := &chosenWorld{t: t, sim: wecom.NewSimulator(chosenToken), dir: t.TempDir()}
	w.srv = httptest.NewServer(w.sim)
	t.Cleanup(w.srv.Close)
	st, err := state.Open(filepath.Join(w.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.store = st
	return w
}

const chosenHead = `version: 1
providers:
  corp:
    vendor: wecom
    endpoint: %s/cgi-bin/
    token: ${WECOM_TOKEN}
people:
  alice: {wecom: alice}
  bob:   {wecom: bob.li}
  carol: {wecom: carol_w}
  dave:  {wecom: dave@corp}
groups:
`

func (w *chosenWorld) manifest(groups string) *spec.Manifest {
	w.t.Helper()
	w.n++
	path := filepath.Join(w.dir, fmt.Sprintf("groups-%d.yaml", w.n))
	text := fmt.Sprintf(chosenHead, w.srv.URL) + groups
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		w.t.Fatalf("manifest: %v\n%s", err, text)
	}
	return m
}

// clients makes each provider's client from the registry's descriptor.
func (w *chosenWorld) clients(m *spec.Manifest) map[string]vendors.Client {
	out := map[string]vendors.Client{}
	for name, p := range m.Providers {
		d, ok := vendors.Lookup(string(p.Vendor))
		if !ok {
			w.t.Fatalf("vendor %s not registered", p.Vendor)
		}
		out[name] = d.New(&vendors.Transport{
			BaseURL: p.Endpoint, HTTP: vendors.NewHTTPClient(5 * time.Second),
			Token: vendors.StaticToken(name, chosenToken), MaxAttempts: 3, BackoffBase: time.Millisecond,
			Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		})
	}
	return out
}

func (w *chosenWorld) plan(m *spec.Manifest) *reconcile.Plan {
	w.t.Helper()
	ctx := context.Background()
	bindings, err := w.store.Bindings(ctx)
	must(w.t, err)
	intents, err := w.store.OpenIntents(ctx)
	must(w.t, err)
	clients := w.clients(m)
	obs := reconcile.Observe(ctx, m, bindings, intents, clients, 4, time.Now)
	must(w.t, w.store.SaveReads(ctx, reconcile.Reads(m, obs)))
	return reconcile.Build(reconcile.Input{Manifest: m, Bindings: bindings, Intents: intents, Observed: obs,
		Caps: capsOf(clients, m), Refreshed: true, Now: time.Now(), Settle: time.Hour})
}

func (w *chosenWorld) apply(m *spec.Manifest, p *reconcile.Plan) *reconcile.Result {
	w.t.Helper()
	ctx := context.Background()
	res := (&reconcile.Applier{Clients: w.clients(m), Journal: w.store, Parallelism: 4}).Apply(ctx, p)
	cached, err := w.store.Reads(ctx)
	must(w.t, err)
	must(w.t, w.store.SaveReads(ctx, reconcile.AppliedReads(p, res, cached, time.Now())))
	return res
}

// writes are the write calls since the last reset.
func (w *chosenWorld) writes() map[string]int {
	out := map[string]int{}
	for k, v := range w.sim.Calls() {
		if (k == wecom.CallCreate || k == wecom.CallUpdate) && v > 0 {
			out[k] = v
		}
	}
	return out
}

func (w *chosenWorld) openIntents() []state.Intent {
	in, err := w.store.OpenIntents(context.Background())
	must(w.t, err)
	return in
}

func wantCalls(t *testing.T, what string, got map[string]int, want map[string]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: calls %v, want %v", what, got, want)
	}
}

// TestE2EChosenID: on WeCom a create carries every member and an id
// groupsync chose; a rename, an owner change, an add and a prune are one
// appchat/update; each converges with the fewest calls and a second plan
// is in sync after one read per group.
func TestE2EChosenID(t *testing.T) {
	w := newChosenWorld(t)
	m := w.manifest(`  - key: ops
    provider: corp
    name: Ops
    owner: alice
    members: [bob, carol]
`)
	p := w.plan(m)
	g := groupByKey(t, p, "ops")
	if g.Create == nil || g.Create.ID != "" || p.Summary.WriteCalls != 1 {
		t.Fatalf("plan %+v: want one create with no id chosen yet", g)
	}
	w.sim.ResetCalls()
	if res := w.apply(m, p); res.Failed != 0 || res.Created != 1 {
		t.Fatalf("apply: %+v", res.Groups)
	}
	wantCalls(t, "create", w.writes(), map[string]int{wecom.CallCreate: 1})
	id := mustBindingOf(t, w.store, "ops")
	if len(id) != 32 || !wecom.IsChatID(id) {
		t.Errorf("chatid %q: want 32 of [0-9a-zA-Z]", id)
	}
	chat, _ := w.sim.Group(id)
	if chat.Owner != "alice" || len(chat.Members) != 3 || chat.Name != "Ops" {
		t.Errorf("chat %+v", chat)
	}
	if n := len(w.openIntents()); n != 0 {
		t.Errorf("open intents %d", n)
	}

	w.sim.ResetCalls()
	if p := w.plan(m); p.Summary.WriteCalls != 0 || p.Groups[0].Action != reconcile.ActionNone {
		t.Errorf("second plan: %+v", p.Groups[0])
	}
	if n := w.sim.Calls()[wecom.CallGet]; n != 1 {
		t.Errorf("reads %d, want 1", n)
	}

	// Rename, owner change to bob, add dave, prune carol: one call.
	w.sim.SeedGroup(vendors.Group{ID: id, Name: "Ops", Owner: "alice", Members: []vendors.LiveMember{{ID: "alice"}, {ID: "bob.li"}, {ID: "carol_w"}, {ID: "stranger"}}})
	m = w.manifest(`  - key: ops
    provider: corp
    name: Operations
    owner: bob
    members: [alice, dave]
    prune: true
`)
	p = w.plan(m)
	g = groupByKey(t, p, "ops")
	if g.Rename != "Operations" || g.SetOwner == nil || g.SetOwner.ID != "bob.li" || !g.OneUpdate ||
		strings.Join(ids(g.Add), ",") != "dave@corp" || strings.Join(ids(g.Remove), ",") != "carol_w,stranger" || p.Summary.WriteCalls != 1 {
		t.Fatalf("plan: %+v (summary %+v)", g, p.Summary)
	}
	w.sim.ResetCalls()
	if res := w.apply(m, p); res.Failed != 0 || res.Added != 1 || res.Removed != 2 {
		t.Fatalf("apply: %+v", res.Groups)
	}
	wantCalls(t, "update", w.writes(), map[string]int{wecom.CallUpdate: 1})
	chat, _ = w.sim.Group(id)
	if chat.Owner != "bob.li" || chat.Name != "Operations" || strings.Join(liveIDs(chat), ",") != "alice,bob.li,dave@corp" {
		t.Errorf("chat after update %+v", chat)
	}
	w.sim.ResetCalls()
	if p := w.plan(m); p.Summary.WriteCalls != 0 || p.Groups[0].Action != reconcile.ActionNone {
		t.Errorf("plan after update: %+v", p.Groups[0])
	}
	// The cache was brought up to date by the apply: a plan from it agrees.
	if p := w.planCached(m); p.Summary.WriteCalls != 0 {
		t.Errorf("cached plan after update: %+v", p.Groups[0])
	}
}

func liveIDs(g vendors.Group) []string {
	var out []string
	for _, m := range g.Members {
		out = append(out, m.ID)
	}
	return out
}

func mustBindingOf(t *testing.T, st *state.Store, key string) string {
	t.Helper()
	b, ok, err := st.Binding(context.Background(), key)
	must(t, err)
	if !ok {
		t.Fatalf("%s not bound", key)
	}
	return b.GroupID
}

func (w *chosenWorld) planCached(m *spec.Manifest) *reconcile.Plan {
	w.t.Helper()
	ctx := context.Background()
	bindings, err := w.store.Bindings(ctx)
	must(w.t, err)
	reads, err := w.store.Reads(ctx)
	must(w.t, err)
	return reconcile.Build(reconcile.Input{Manifest: m, Bindings: bindings, Intents: w.openIntents(),
		Observed: reconcile.FromCache(m, bindings, reads), Caps: capsOf(w.clients(m), m), Now: time.Now()})
}

const chosenOps = `  - key: ops
    provider: corp
    name: Ops
    owner: alice
    members: [bob, carol]
`

// TestE2EChosenIDLostCreate: a create whose answer is lost after the
// vendor made the chat is bound by the next plan's read of the chosen id
// (no person, no second create); one the vendor never made (the process
// died after journaling it) is sent again with the same id at once (no
// settling); a second send that meets the first one landed late is
// refused by the vendor and bound next.
func TestE2EChosenIDLostCreate(t *testing.T) {
	t.Run("made, answer lost", func(t *testing.T) {
		w := newChosenWorld(t)
		m := w.manifest(chosenOps)
		w.sim.FailNextAfterApply(wecom.CallCreate, 1)
		res := w.apply(m, w.plan(m))
		if res.Groups[0].Err == nil || !errors.Is(res.Groups[0].Err, vendors.ErrUnknownOutcome) {
			t.Fatalf("apply: %+v, want an unknown outcome", res.Groups[0])
		}
		in := w.openIntents()
		if len(in) != 1 || !wecom.IsChatID(in[0].GroupID) {
			t.Fatalf("open intents %+v: want the create with its chosen id", in)
		}
		if _, ok := w.sim.Group(in[0].GroupID); !ok {
			t.Fatal("the simulator did not make the chat with the journaled id")
		}
		p := w.plan(m)
		g := groupByKey(t, p, "ops")
		if g.Bind == nil || g.Bind.Kind != reconcile.BindRecover || g.Bind.GroupID != in[0].GroupID || g.Create != nil || len(g.Errors) != 0 {
			t.Fatalf("plan: %+v", g)
		}
		w.sim.ResetCalls()
		if res := w.apply(m, p); res.Failed != 0 {
			t.Fatalf("apply: %+v", res.Groups)
		}
		wantCalls(t, "settle", w.writes(), map[string]int{})
		if got := mustBindingOf(t, w.store, "ops"); got != in[0].GroupID || len(w.sim.Groups()) != 1 || len(w.openIntents()) != 0 {
			t.Errorf("bound %s, chats %d, intents %d", got, len(w.sim.Groups()), len(w.openIntents()))
		}
	})
	t.Run("journaled, never sent", func(t *testing.T) {
		w := newChosenWorld(t)
		m := w.manifest(chosenOps)
		chosen, _ := wecom.NewChatID()
		_, err := w.store.BeginIntent(context.Background(), state.Intent{Key: "ops", Provider: "corp", Kind: state.IntentCreate, Name: "Ops", GroupID: chosen, StartedAt: time.Now()})
		must(t, err)
		// From the cache alone nothing is read: blocked, with the read as the fix.
		if g := groupByKey(t, w.planCached(m), "ops"); g.Create != nil || len(g.Errors) != 1 || !strings.Contains(g.Errors[0].Fix, "one read of "+chosen+" settles it") {
			t.Errorf("cached plan: %+v", g)
		}
		p := w.plan(m)
		g := groupByKey(t, p, "ops")
		if g.Create == nil || g.Create.ID != chosen || g.Create.IntentID == 0 || len(g.Errors) != 0 {
			t.Fatalf("plan: %+v, want the create sent again with %s (no settling)", g, chosen)
		}
		if diffs := reconcile.CheckSaved(p, m, nil, nil, w.openIntents()); len(diffs) != 0 {
			t.Errorf("saved-plan check: %v", diffs)
		}
		tampered := *p
		tampered.Groups = append([]reconcile.GroupPlan(nil), p.Groups...)
		c := *tampered.Groups[0].Create
		c.ID = "AAAA"
		tampered.Groups[0].Create = &c
		if diffs := reconcile.CheckSaved(&tampered, m, nil, nil, w.openIntents()); len(diffs) == 0 {
			t.Error("a saved plan sending another id passed the check")
		}
		w.sim.ResetCalls()
		if res := w.apply(m, p); res.Failed != 0 || res.Created != 1 {
			t.Fatalf("apply: %+v", res.Groups)
		}
		if got := mustBindingOf(t, w.store, "ops"); got != chosen || len(w.openIntents()) != 0 || len(w.sim.Groups()) != 1 {
			t.Errorf("bound %s, want %s; intents %d, chats %d", got, chosen, len(w.openIntents()), len(w.sim.Groups()))
		}
	})
	t.Run("sent again, the first landed late", func(t *testing.T) {
		w := newChosenWorld(t)
		m := w.manifest(chosenOps)
		chosen, _ := wecom.NewChatID()
		_, err := w.store.BeginIntent(context.Background(), state.Intent{Key: "ops", Provider: "corp", Kind: state.IntentCreate, Name: "Ops", GroupID: chosen, StartedAt: time.Now()})
		must(t, err)
		p := w.plan(m) // the read finds nothing yet
		// The first send lands now, between the read and the second send.
		w.sim.SeedGroup(vendors.Group{ID: chosen, Name: "Ops", Owner: "alice", Members: []vendors.LiveMember{{ID: "alice"}, {ID: "bob.li"}, {ID: "carol_w"}}})
		res := w.apply(m, p)
		if !errors.Is(res.Groups[0].Err, vendors.ErrUnknownOutcome) || len(w.openIntents()) != 1 {
			t.Fatalf("apply: %+v; intents %d: want an unknown outcome, intent kept", res.Groups[0], len(w.openIntents()))
		}
		w.apply(m, w.plan(m))
		if got := mustBindingOf(t, w.store, "ops"); got != chosen || len(w.sim.Groups()) != 1 || len(w.openIntents()) != 0 {
			t.Errorf("bound %s, chats %d, intents %d", got, len(w.sim.Groups()), len(w.openIntents()))
		}
	})
	t.Run("read of the id fails: nothing is concluded", func(t *testing.T) {
		w := newChosenWorld(t)
		m := w.manifest(chosenOps)
		chosen, _ := wecom.NewChatID()
		_, err := w.store.BeginIntent(context.Background(), state.Intent{Key: "ops", Provider: "corp", Kind: state.IntentCreate, Name: "Ops", GroupID: chosen, StartedAt: time.Now()})
		must(t, err)
		w.sim.ForceCodes(wecom.CallGet, 86999) // an errcode nobody documented
		g := groupByKey(t, w.plan(m), "ops")
		if g.Create != nil || len(g.Errors) != 1 || g.Errors[0].Kind != reconcile.IssueRecoveryFailed {
			t.Errorf("plan: %+v, want the group blocked", g)
		}
	})
}

// TestChosenIDCreateCap: a plan creates at most the vendor's creates per
// apply; the rest are blocked until a later apply.
func TestChosenIDCreateCap(t *testing.T) {
	w := newChosenWorld(t)
	var b strings.Builder
	n := wecom.CreatesPerDay + 2
	for i := range n {
		fmt.Fprintf(&b, "  - key: g%d\n    provider: corp\n    name: G%d\n    owner: alice\n    members: [bob]\n", i, i)
	}
	m := w.manifest(b.String())
	p := reconcile.Build(reconcile.Input{Manifest: m, Caps: capsOf(w.clients(m), m), Now: time.Now()})
	if p.Summary.Create != wecom.CreatesPerDay || p.Summary.Errors != 2 {
		t.Fatalf("summary %+v: want %d creates and 2 errors", p.Summary, wecom.CreatesPerDay)
	}
	last := p.Groups[n-1]
	if last.Create != nil || len(last.Errors) != 1 || last.Errors[0].Kind != reconcile.IssueCreateCap {
		t.Errorf("last group %+v", last)
	}
}

// chosenUsers are the WeCom userids of chosenHead's people and strangers.
var chosenUsers = []string{"alice", "bob.li", "carol_w", "dave@corp", "stranger1", "stranger-2"}

var chosenHandles = map[string]string{"alice": "alice", "bob.li": "bob", "carol_w": "carol", "dave@corp": "dave"}

type chosenPropGroup struct {
	key, name, liveName string
	status              propStatus
	owner, liveOwner    string
	members, live       []string
	prune               bool
	id                  string
}

func genChosenScenario(r *rand.Rand) []*chosenPropGroup {
	var out []*chosenPropGroup
	for i := range 1 + r.IntN(6) {
		g := &chosenPropGroup{key: fmt.Sprintf("w%d", i), name: fmt.Sprintf("群-%d", i), status: propStatus(r.IntN(3)), prune: r.IntN(2) == 0}
		g.owner = chosenUsers[r.IntN(4)]
		for len(minus(g.members, []string{g.owner})) == 0 {
			g.members = subset(r, chosenUsers[:4], 0.5)
		}
		if g.status != propMissing {
			g.id = fmt.Sprintf("wcProp%026d", i)
			g.liveName = g.name
			if r.IntN(3) == 0 {
				g.liveName = g.name + "(旧)"
			}
			for len(g.live) < 2 {
				g.live = subset(r, chosenUsers, 0.5)
			}
			g.liveOwner = g.live[r.IntN(len(g.live))]
		}
		out = append(out, g)
	}
	return out
}

// desired is the group's desired members, its owner first.
func (g *chosenPropGroup) desired() []string {
	return minus(append([]string{g.owner}, g.members...), nil)
}

// extras are the live members prune removes (all not desired: the live
// owner is replaced when it is not the desired one), or, without prune,
// the ones left as drift.
func (g *chosenPropGroup) extras() []string {
	if g.status == propMissing {
		return nil
	}
	return minus(g.live, g.desired())
}

// updates reports whether an existing group needs its one update call.
func (g *chosenPropGroup) updates() bool {
	return g.status != propMissing && (len(minus(g.desired(), g.live)) > 0 || g.liveName != g.name ||
		g.liveOwner != g.owner || g.prune && len(g.extras()) > 0)
}

// TestPropertyChosenIDOneApplyConverges: for any desired and live WeCom
// world, one plan and one apply converge with the fewest calls (a create
// per missing group, at most one appchat/update per existing one), and
// what is left is exactly the extras of groups that do not prune.
func TestPropertyChosenIDOneApplyConverges(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 2026))
	for i := range 40 {
		groups := genChosenScenario(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			w := newChosenWorld(t)
			var b strings.Builder
			wantWrites := map[string]int{}
			existing := 0
			for _, g := range groups {
				if g.status != propMissing {
					existing++
					lg := vendors.Group{ID: g.id, Name: g.liveName, Owner: g.liveOwner}
					for _, u := range g.live {
						lg.Members = append(lg.Members, vendors.LiveMember{ID: u})
					}
					w.sim.SeedGroup(lg)
				}
				if g.status == propBound {
					must(t, w.store.Bind(context.Background(), state.Binding{Key: g.key, Provider: "corp", GroupID: g.id, Origin: state.OriginCreated}))
				}
				switch {
				case g.status == propMissing:
					wantWrites[wecom.CallCreate]++
				case g.updates():
					wantWrites[wecom.CallUpdate]++
				}
				var hs []string
				for _, u := range g.members {
					hs = append(hs, chosenHandles[u])
				}
				fmt.Fprintf(&b, "  - key: %s\n    provider: corp\n    name: %s\n    owner: %s\n    members: [%s]\n    prune: %v\n",
					g.key, g.name, chosenHandles[g.owner], strings.Join(hs, ", "), g.prune)
				if g.status == propPinned {
					fmt.Fprintf(&b, "    groupId: %s\n", g.id)
				}
			}
			m := w.manifest(b.String())
			w.sim.ResetCalls()
			p := w.plan(m)
			if n := w.sim.Calls()[wecom.CallGet]; n != existing {
				t.Errorf("reads %d, want one per existing chat (%d)", n, existing)
			}
			bindings, err := w.store.Bindings(context.Background())
			must(t, err)
			if diffs := reconcile.CheckSaved(p, m, bindings, nil, w.openIntents()); len(diffs) > 0 {
				t.Errorf("the plan as made is refused as altered: %v", diffs)
			}
			w.sim.ResetCalls()
			if res := w.apply(m, p); res.Failed != 0 {
				t.Fatalf("apply: %+v", res.Groups)
			}
			wantCalls(t, "apply", w.writes(), wantWrites)

			after := w.plan(m)
			if after.Summary.WriteCalls != 0 || after.Summary.StateWrites != 0 || after.HasErrors() {
				t.Errorf("a second plan still has work: %+v", after.Summary)
			}
			for _, g := range groups {
				gp := groupByKey(t, after, g.key)
				var drift []string
				for _, d := range gp.Drift {
					drift = append(drift, fmt.Sprintf("%s:%s", d.Kind, strings.Join(ids(d.Members), ",")))
				}
				var want []string
				if ex := g.extras(); !g.prune && len(ex) > 0 {
					want = []string{"extra-member:" + strings.Join(ex, ",")}
				}
				if fmt.Sprint(drift) != fmt.Sprint(want) {
					t.Errorf("%s: drift %v, want %v", g.key, drift, want)
				}
				chat, ok := w.sim.Group(mustBindingOf(t, w.store, g.key))
				if !ok || chat.Name != g.name || chat.Owner != g.owner || len(minus(g.desired(), liveIDs(chat))) > 0 {
					t.Errorf("%s: chat %+v, want name %s, owner %s, members %v", g.key, chat, g.name, g.owner, g.desired())
				}
			}
			if t.Failed() {
				for _, g := range groups {
					t.Logf("%+v", *g)
				}
			}
		})
	}
}

package reconcile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// The property: for any desired world and any live world, one plan and one
// apply converge (a fresh plan has no write left, and what it still shows is
// exactly the drift the vendors cannot fix), and the apply made exactly the
// fewest write calls of SPEC section 4. The expected calls and drift are
// computed from the generated scenario alone, never from the plan.

var (
	propYzjUsers = []string{alice, bob, carol, dave, erin, stranger, "5bc51993e4b04d27a8f60e3c", "5ba3f7d2e4b0e1c8d46a2b95"}
	// Lunkr users by canonical email; "77" is the uid of carol77.
	propLkUsers = []string{"u0@example.com", "u1@example.com", "u2@example.com", "u3@example.com", "u4@example.com", "carol77@example.com"}
)

const propLkUID = "77" // uid of carol77@example.com

type propStatus int

const (
	propMissing propStatus = iota // not on the vendor, not in the state: created
	propPinned                    // on the vendor, pinned by groupId: adopted
	propBound                     // on the vendor and bound in the state
)

type propPost struct {
	title, content string
	posted         bool // already recorded as posted in the state
}

type propGroup struct {
	key, name string
	lunkr     bool
	status    propStatus

	// Yunzhijia
	owner    string
	prune    bool
	managers []string // live managers of an existing group: the owner, perhaps another
	notices  []propPost
	banners  []propPost

	// Lunkr (canonical emails; spelled says how the manifest writes each)
	typ         string
	subscribers []string
	liveName    string
	liveSubs    []string

	members []string // desired, canonical
	live    []string // live members (existing groups), canonical
	spelled map[string]string
	id      string // vendor id of an existing group
}

// subset returns each element of from with probability p, in order.
func subset(r *rand.Rand, from []string, p float64) []string {
	var out []string
	for _, s := range from {
		if r.Float64() < p {
			out = append(out, s)
		}
	}
	return out
}

// spell writes a Lunkr user as a manifest might: its email in any case, or
// carol77 by uid.
func spell(r *rand.Rand, email string) string {
	if email == "carol77@example.com" && r.IntN(2) == 0 {
		return propLkUID
	}
	switch r.IntN(3) {
	case 0:
		return strings.ToUpper(email[:1]) + email[1:]
	case 1:
		return strings.ToUpper(email)
	}
	return email
}

func genScenario(r *rand.Rand) []*propGroup {
	n := 1 + r.IntN(6)
	var out []*propGroup
	for i := range n {
		g := &propGroup{key: fmt.Sprintf("g%d", i), name: fmt.Sprintf("群-%d", i), status: propStatus(r.IntN(3)), lunkr: r.IntN(2) == 0}
		if !g.lunkr {
			g.owner = propYzjUsers[r.IntN(len(propYzjUsers))]
			g.members = subset(r, propYzjUsers, 0.4)
			for j, title := range []string{"窗口", "预案", "值班"}[:r.IntN(4)] {
				g.notices = append(g.notices, propPost{title: title, content: fmt.Sprintf("内容 %d-%d", j, r.IntN(2))})
			}
			for _, title := range []string{"Runbook", "Wiki"}[:r.IntN(3)] {
				g.banners = append(g.banners, propPost{title: title, content: fmt.Sprintf("https://wiki.example.com/%d", r.IntN(2))})
			}
			g.prune = r.IntN(2) == 0
			if g.status != propMissing {
				g.live = subset(r, propYzjUsers, 0.5)
				if !slices.Contains(g.live, g.owner) {
					g.live = append(g.live, g.owner) // the owner reads the group: it is in it
				}
				g.managers = []string{g.owner}
				if m := g.live[r.IntN(len(g.live))]; m != g.owner && r.IntN(2) == 0 {
					g.managers = append(g.managers, m)
				}
			}
			if g.status == propBound {
				for j := range g.notices {
					g.notices[j].posted = r.IntN(2) == 0
				}
				for j := range g.banners {
					g.banners[j].posted = r.IntN(2) == 0
				}
			}
			out = append(out, g)
			continue
		}
		g.typ = []string{lunkr.TypeTopic, lunkr.TypePublic, lunkr.TypeSysTopic}[r.IntN(3)]
		for len(g.members) == 0 {
			g.members = subset(r, propLkUsers, 0.4)
		}
		if g.typ == lunkr.TypeSysTopic {
			for _, u := range propLkUsers {
				if !slices.Contains(g.members, u) && r.IntN(2) == 0 {
					g.subscribers = append(g.subscribers, u)
				}
			}
		}
		g.spelled = map[string]string{}
		for _, u := range slices.Concat(g.members, g.subscribers) {
			g.spelled[u] = spell(r, u)
		}
		if g.status != propMissing {
			g.live = subset(r, propLkUsers, 0.5)
			if g.typ == lunkr.TypeSysTopic {
				for _, u := range propLkUsers {
					if !slices.Contains(g.live, u) && r.IntN(3) == 0 {
						g.liveSubs = append(g.liveSubs, u)
					}
				}
			}
			g.liveName = g.name
			if r.IntN(5) == 0 {
				g.liveName = g.name + "(旧)"
			}
		}
		out = append(out, g)
	}
	return out
}

// seed puts the scenario's existing groups on the simulators and in the
// state, and returns the manifest's groups.
func (w *world) seedScenario(groups []*propGroup) string {
	ctx := context.Background()
	for _, u := range propLkUsers {
		uid := ""
		if u == "carol77@example.com" {
			uid = propLkUID
		}
		w.lk.AddUser(uid, u, "")
	}
	var b strings.Builder
	for i, g := range groups {
		if g.status != propMissing {
			if g.lunkr {
				lg := vendors.Group{Name: g.liveName, Type: g.typ}
				for _, u := range g.live {
					lg.Members = append(lg.Members, vendors.LiveMember{Email: u})
				}
				for _, u := range g.liveSubs {
					lg.Subscribers = append(lg.Subscribers, vendors.LiveMember{Email: u})
				}
				g.id = w.lk.SeedGroup(lg)
			} else {
				g.id = fmt.Sprintf("5f0000000000000000000%03d", i)
				yg := vendors.Group{ID: g.id, Name: g.name, Managers: g.managers}
				for _, u := range g.live {
					yg.Members = append(yg.Members, vendors.LiveMember{ID: u})
				}
				w.yzj.SeedGroup(yg)
			}
		}
		provider := map[bool]string{false: "kingdee", true: "coremail"}[g.lunkr]
		if g.status == propBound {
			must(w.t, w.store.Bind(ctx, state.Binding{Key: g.key, Provider: provider, GroupID: g.id, Origin: state.OriginCreated}))
			for _, p := range g.notices {
				if p.posted {
					w.recordPost(g, state.IntentNotice, p.title, reconcile.ContentHash(reconcile.Notice{Title: p.title, Content: p.content}))
				}
			}
			for _, p := range g.banners {
				if p.posted {
					w.recordPost(g, state.IntentBanner, p.title, reconcile.ContentHash(reconcile.Banner{Title: p.title, WebpageURL: p.content}))
				}
			}
		}

		fmt.Fprintf(&b, "  - key: %s\n    provider: %s\n    name: %s\n", g.key, provider, g.name)
		if g.status == propPinned {
			fmt.Fprintf(&b, "    groupId: %q\n", g.id)
		}
		if g.lunkr {
			fmt.Fprintf(&b, "    type: %s\n    members: [%s]\n", g.typ, quoteAll(g.members, g.spelled))
			if len(g.subscribers) > 0 {
				fmt.Fprintf(&b, "    subscribers: [%s]\n", quoteAll(g.subscribers, g.spelled))
			}
			continue
		}
		fmt.Fprintf(&b, "    owner: %q\n    members: [%s]\n", g.owner, quoteAll(g.members, nil))
		if g.prune {
			b.WriteString("    prune: true\n")
		}
		if len(g.notices) > 0 {
			b.WriteString("    notices:\n")
			for _, p := range g.notices {
				fmt.Fprintf(&b, "      - {title: %q, content: %q}\n", p.title, p.content)
			}
		}
		if len(g.banners) > 0 {
			b.WriteString("    banners:\n")
			for _, p := range g.banners {
				fmt.Fprintf(&b, "      - {title: %q, webpageUrl: %q}\n", p.title, p.content)
			}
		}
	}
	return b.String()
}

func (w *world) recordPost(g *propGroup, kind state.IntentKind, title, hash string) {
	ctx := context.Background()
	id, err := w.store.BeginIntent(ctx, state.Intent{Key: g.key, Provider: "kingdee", Kind: kind, Name: title, Hash: hash, GroupID: g.id})
	must(w.t, err)
	must(w.t, w.store.CompletePost(ctx, id, state.Post{VendorID: "earlier"}))
}

func quoteAll(ids []string, spelled map[string]string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		if s, ok := spelled[id]; ok {
			id = s
		}
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ")
}

// minimumWrites is SPEC section 4's fewest calls for the scenario.
func minimumWrites(groups []*propGroup) map[string]int {
	out := map[string]int{}
	for _, g := range groups {
		if g.lunkr {
			if g.status == propMissing {
				out[lunkr.CallCreate]++
			}
			continue
		}
		if g.status == propMissing {
			out[yunzhijia.CallCreateGroup]++
		} else if len(minus(append([]string{g.owner}, g.members...), g.live)) > 0 {
			out[yunzhijia.CallAddGroupUser]++
		}
		if removed, _ := g.pruned(); len(removed) > 0 {
			out[yunzhijia.CallDelGroupUser]++
		}
		for _, p := range g.notices {
			if !p.posted {
				out[yunzhijia.CallNotice]++
			}
		}
		for _, p := range g.banners {
			if !p.posted {
				out[yunzhijia.CallBanner]++
			}
		}
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// expectedDrift is what a converged plan must still show, as sorted
// "key kind: canonical ids" lines.
func expectedDrift(groups []*propGroup) []string {
	var out []string
	add := func(g *propGroup, kind reconcile.DriftKind, ids []string) {
		if len(ids) > 0 {
			out = append(out, fmt.Sprintf("%s %s: %s", g.key, kind, strings.Join(sorted(ids...), ",")))
		}
	}
	for _, g := range groups {
		if g.status == propMissing {
			continue // created exactly as desired
		}
		if !g.lunkr {
			_, kept := g.pruned()
			add(g, reconcile.DriftExtraMember, kept)
			continue
		}
		add(g, reconcile.DriftMissingMember, minus(g.members, g.live))
		add(g, reconcile.DriftExtraMember, minus(g.live, g.members))
		if g.typ == lunkr.TypeSysTopic {
			add(g, reconcile.DriftMissingSubscriber, minus(g.subscribers, g.liveSubs))
			add(g, reconcile.DriftExtraSubscriber, minus(g.liveSubs, g.subscribers))
		}
		if g.liveName != g.name {
			out = append(out, fmt.Sprintf("%s %s: %s", g.key, reconcile.DriftName, g.liveName+"->"+g.name))
		}
	}
	slices.Sort(out)
	return out
}

// planDrift is the plan's drift in expectedDrift's form.
func planDrift(p *reconcile.Plan) []string {
	var out []string
	for _, g := range p.Groups {
		for _, d := range g.Drift {
			if d.Kind == reconcile.DriftName {
				out = append(out, fmt.Sprintf("%s %s: %s", g.Key, d.Kind, d.Live+"->"+d.Desired))
				continue
			}
			var ids []string
			for _, m := range d.Members {
				ids = append(ids, canonical(m.ID))
			}
			out = append(out, fmt.Sprintf("%s %s: %s", g.Key, d.Kind, strings.Join(sorted(ids...), ",")))
		}
	}
	slices.Sort(out)
	return out
}

// canonical names a Lunkr user by lower-case email (carol77 by uid too).
func canonical(id string) string {
	if id == propLkUID {
		return "carol77@example.com"
	}
	return strings.ToLower(id)
}

// pruned splits an existing Yunzhijia group's extra live members into those
// prune removes and those that stay: all stay without prune; with it, the
// owner, the provider's operator (erin) and the managers stay.
func (g *propGroup) pruned() (removed, kept []string) {
	if g.lunkr || g.status == propMissing {
		return nil, nil
	}
	for _, u := range minus(g.live, append([]string{g.owner}, g.members...)) {
		if g.prune && u != erin && !slices.Contains(g.managers, u) {
			removed = append(removed, u)
		} else {
			kept = append(kept, u)
		}
	}
	return removed, kept
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func TestPropertyOneApplyConvergesWithTheFewestCalls(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 2026))
	for i := range 50 {
		groups := genScenario(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			w := newWorld(t)
			m := w.manifest(w.seedScenario(groups))

			existing := 0
			for _, g := range groups {
				if g.status != propMissing {
					existing++
				}
			}
			p := w.plan(m)
			calls := w.calls()
			if reads := calls[yunzhijia.CallGroupUsers] + calls[lunkr.CallInfo]; reads != existing {
				t.Errorf("plan made %d reads, want one per existing group (%d)", reads, existing)
			}
			if got := w.writes(); len(got) != 0 {
				t.Errorf("plan made write calls: %v", got)
			}
			// Saved, the plan passes the check of every write against its manifest.
			bindings, err := w.store.Bindings(context.Background())
			must(t, err)
			posts, err := w.store.Posts(context.Background())
			must(t, err)
			intents, err := w.store.OpenIntents(context.Background())
			must(t, err)
			if diffs := reconcile.CheckSaved(p, m, bindings, posts, intents); len(diffs) > 0 {
				t.Errorf("the plan as made is refused as altered:\n%s", strings.Join(diffs, "\n"))
			}

			res := w.apply(m, p)
			if res.Failed != 0 {
				for _, gr := range res.Groups {
					t.Errorf("apply: %s: %v", gr.Key, gr.Err)
				}
			}
			if diff := cmp.Diff(minimumWrites(groups), w.writes()); diff != "" {
				t.Errorf("write calls (-minimum +made):\n%s", diff)
			}

			after := w.plan(m)
			if after.Summary.WriteCalls != 0 || after.Summary.StateWrites != 0 || after.HasErrors() {
				t.Errorf("a second plan still has work: %+v", after.Summary)
			}
			if diff := cmp.Diff(expectedDrift(groups), planDrift(after)); diff != "" {
				t.Errorf("drift left (-want +got):\n%s", diff)
			}
			checkLive(t, w, groups)
			if t.Failed() {
				t.Logf("scenario:\n%s", w.seedScenarioText(groups))
			}
		})
	}
}

// checkLive checks the vendors' side: every desired Yunzhijia member is in
// its group and every notice and banner is there once.
func checkLive(t *testing.T, w *world, groups []*propGroup) {
	t.Helper()
	for _, g := range groups {
		id := w.mustBinding(g.key)
		if g.status != propMissing && id != g.id {
			t.Errorf("%s bound to %s, want its existing group %s", g.key, id, g.id)
		}
		if g.lunkr {
			continue
		}
		live, ok := w.yzj.Group(id)
		if !ok {
			t.Errorf("%s: group %s is not on the simulator", g.key, id)
			continue
		}
		if missing := minus(append([]string{g.owner}, g.members...), memberIDs(live)); len(missing) > 0 {
			t.Errorf("%s: members %v still missing", g.key, missing)
		}
		if removed, _ := g.pruned(); len(minus(removed, memberIDs(live))) != len(removed) {
			t.Errorf("%s: prune left %v of %v", g.key, minus(removed, minus(removed, memberIDs(live))), removed)
		}
		if g.status != propMissing {
			removed, _ := g.pruned()
			if gone := minus(minus(g.live, memberIDs(live)), removed); len(gone) > 0 {
				t.Errorf("%s: %v were removed, not extras prune may remove", g.key, gone)
			}
		}
		wantNotices, wantBanners := 0, 0
		for _, p := range g.notices {
			wantNotices += 1 - b2i(p.posted)
		}
		for _, p := range g.banners {
			wantBanners += 1 - b2i(p.posted)
		}
		if n, b := len(w.yzj.Notices(id)), len(w.yzj.Banners(id)); n != wantNotices || b != wantBanners {
			t.Errorf("%s: %d notices and %d banners posted, want %d and %d", g.key, n, b, wantNotices, wantBanners)
		}
	}
}

// seedScenarioText describes a scenario for a failure message.
func (w *world) seedScenarioText(groups []*propGroup) string {
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "%s lunkr=%v status=%d prune=%v managers=%v owner=%s type=%s members=%v live=%v subs=%v liveSubs=%v name=%s liveName=%s notices=%v banners=%v\n",
			g.key, g.lunkr, g.status, g.prune, g.managers, g.owner, g.typ, g.members, g.live, g.subscribers, g.liveSubs, g.name, g.liveName, g.notices, g.banners)
	}
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

package reliability

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"groupsync/internal/converge"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

func noticeHash(n spec.Notice) string {
	return reconcile.ContentHash(reconcile.Notice{Title: n.Title, Content: n.Content})
}

func bannerHash(b spec.Banner) string { return reconcile.ContentHash(reconcile.Banner(b)) }

// rig plans and applies in process, the way `groupsync plan` and `apply`
// do, with real clients over HTTP and a real state file.
type rig struct {
	t           testing.TB
	w           *vendorWorld
	m           *spec.Manifest
	store       *state.Store
	clients     map[string]vendors.Client
	parallelism int
	settle      time.Duration // see reconcile.Input.Settle
}

type rigOptions struct {
	Timeout     time.Duration // one HTTP request, answer included
	Parallelism int
	MaxAttempts int
}

func newRig(t testing.TB, w *vendorWorld, manifest, statePath, token string, o rigOptions) *rig {
	t.Helper()
	store, err := state.Open(statePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r := &rig{t: t, w: w, m: loadManifest(t, manifest), store: store, clients: map[string]vendors.Client{}, parallelism: o.Parallelism}
	httpc := vendors.NewHTTPClient(o.Timeout)
	for name, p := range r.m.Providers {
		tr := &vendors.Transport{
			BaseURL:     p.Endpoint,
			HTTP:        httpc,
			Token:       vendors.StaticToken(name, token),
			MaxAttempts: o.MaxAttempts,
			BackoffBase: time.Millisecond,
			BackoffMax:  10 * time.Millisecond, // also caps Retry-After
		}
		d, _ := vendors.Lookup(string(p.Vendor))
		r.clients[name] = d.New(tr)
	}
	return r
}

// plan observes live, caches the reads and builds the plan, as `groupsync
// plan` does (the converge package's planner).
func (r *rig) plan(ctx context.Context) *reconcile.Plan {
	r.t.Helper()
	pl := converge.Planner{Store: r.store, Clients: r.clients, Parallelism: r.parallelism, Settle: r.settle}
	p, err := pl.Plan(ctx, r.m, true)
	must(r.t, err)
	return p
}

// waitSettled waits, when p shows a create settling, for the creates the
// vendors apply late to land and for every open create intent to have
// settled, and reports whether it waited.
func waitSettled(ctx context.Context, t testing.TB, w *vendorWorld, p *reconcile.Plan, intents func() []state.Intent, settle time.Duration) bool {
	t.Helper()
	settling := false
	for i := range p.Groups {
		settling = settling || hasIssue(&p.Groups[i], reconcile.IssueSettling)
	}
	if !settling {
		return false
	}
	must(t, w.lk.WaitLanded(ctx))
	must(t, w.yzj.WaitLanded(ctx))
	var last time.Time
	for _, in := range intents() {
		if in.Kind == state.IntentCreate && in.LastAttempt().After(last) {
			last = in.LastAttempt()
		}
	}
	// Time passing is what is waited for here: the settle is counted on
	// the clock, from the last attempt.
	time.Sleep(time.Until(last.Add(settle)) + 10*time.Millisecond)
	return true
}

func (r *rig) apply(ctx context.Context, p *reconcile.Plan) *reconcile.Result {
	a := &reconcile.Applier{Clients: r.clients, Journal: r.store, Parallelism: r.parallelism}
	return a.Apply(ctx, p)
}

func (r *rig) intents(ctx context.Context) []state.Intent {
	in, err := r.store.OpenIntents(ctx)
	must(r.t, err)
	return in
}

func (r *rig) bound(ctx context.Context) map[string]string {
	b, err := r.store.Bindings(ctx)
	must(r.t, err)
	out := make(map[string]string, len(b))
	for k, v := range b {
		out[k] = v.GroupID
	}
	return out
}

func (r *rig) group(key string) *spec.Group {
	for _, g := range r.m.Groups {
		if g.Key == key {
			return g
		}
	}
	return nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func hasIssue(g *reconcile.GroupPlan, kinds ...reconcile.IssueKind) bool {
	for _, is := range g.Errors {
		for _, k := range kinds {
			if is.Kind == k {
				return true
			}
		}
	}
	return false
}

func groupPlan(p *reconcile.Plan, key string) *reconcile.GroupPlan {
	for i := range p.Groups {
		if p.Groups[i].Key == key {
			return &p.Groups[i]
		}
	}
	return nil
}

// checkSurfaced checks that every intent open before the plan is shown in
// it, and that the plan guesses nothing: no create or post is planned over
// an open intent, and a Lunkr recovery binds exactly the group the lost
// create made (or retries only when there is none).
func checkSurfaced(t testing.TB, w *vendorWorld, m *spec.Manifest, intents []state.Intent, p *reconcile.Plan) {
	t.Helper()
	for _, in := range intents {
		gp := groupPlan(p, in.Key)
		if gp == nil {
			continue // not in the manifest (an orphan)
		}
		g := specGroup(m, in.Key)
		switch {
		case in.Kind != state.IntentCreate:
			if !hasIssue(gp, reconcile.IssueUnknownPost) {
				t.Errorf("%s: open %s intent %q is not shown as %s (errors %+v)", in.Key, in.Kind, in.Name, reconcile.IssueUnknownPost, gp.Errors)
			}
			for _, s := range append(append([]reconcile.PostStep{}, gp.Notices...), gp.Banners...) {
				if s.Hash == in.Hash {
					t.Errorf("%s: plan posts %q again over an open intent", in.Key, s.Title)
				}
			}
		case hasIssue(gp, reconcile.IssueSettling):
			// It may still land: neither vendor concludes anything yet.
			if gp.Create != nil || gp.Bind != nil {
				t.Errorf("%s: create of unknown outcome settling, but the plan has create %+v bind %+v", in.Key, gp.Create, gp.Bind)
			}
		case g.Vendor == spec.Vendor("yunzhijia"):
			if gp.Create != nil || !hasIssue(gp, reconcile.IssueUnknownCreate) {
				t.Errorf("%s: open create intent not shown as %s (create planned: %v, errors %+v)", in.Key, reconcile.IssueUnknownCreate, gp.Create != nil, gp.Errors)
			}
		default:
			// Lunkr finds the group by what the create sent, WeCom by the
			// id it chose: either binds the one group or sends again.
			ids := w.groupsNamed(g.Vendor, g.Name)
			switch {
			case hasIssue(gp, reconcile.IssueRecoveryFailed):
				if gp.Create != nil {
					t.Errorf("%s: create planned while recovery failed", in.Key)
				}
			case gp.Bind != nil && gp.Bind.Kind == reconcile.BindRecover:
				if len(ids) != 1 || gp.Bind.GroupID != ids[0] {
					t.Errorf("%s: recovery guessed %s; the vendor has %v named %q", in.Key, gp.Bind.GroupID, ids, g.Name)
				}
			case gp.Bind != nil && gp.Bind.Kind == reconcile.BindRetry:
				if len(ids) != 0 {
					t.Errorf("%s: plan retries the create, but the vendor has %v named %q", in.Key, ids, g.Name)
				}
			case gp.Create != nil && gp.Create.IntentID == in.ID:
				// A chosen id's create sent again, with that id, without
				// waiting for it to settle: should the first land after
				// all (after the plan's read, even), the vendor refuses the
				// id, and no other group may have the name.
				landed := len(ids) == 1 && ids[0] == in.GroupID
				if len(ids) != 0 && !landed || in.GroupID == "" || gp.Create.ID != in.GroupID {
					t.Errorf("%s: plan sends the create of %q again as %q, but the vendor has %v named %q", in.Key, in.GroupID, gp.Create.ID, ids, g.Name)
				}
			default:
				t.Errorf("%s: open %s create intent neither recovered, retried nor shown as an error: %+v", in.Key, g.Vendor, gp)
			}
		}
	}
}

func specGroup(m *spec.Manifest, key string) *spec.Group {
	for _, g := range m.Groups {
		if g.Key == key {
			return g
		}
	}
	return nil
}

// checkResultSurfaced checks that every group whose apply reported an
// unknown outcome has an open intent afterwards, so that the next plan
// shows it.
func checkResultSurfaced(t testing.TB, res *reconcile.Result, intents []state.Intent) {
	t.Helper()
	open := map[string]bool{}
	for _, in := range intents {
		open[in.Key] = true
	}
	for _, g := range res.Groups {
		if g.Unknown && !open[g.Key] {
			t.Errorf("%s: apply reported an unknown outcome (%v) but left no open intent", g.Key, g.Err)
		}
		if g.Err != nil && !g.Unknown && errors.Is(g.Err, vendors.ErrUnknownOutcome) {
			t.Errorf("%s: unknown outcome not flagged as Unknown: %v", g.Key, g.Err)
		}
	}
}

// resolveAsHuman follows the fix of every Yunzhijia unknown outcome in the
// plan, as a person would: looking in the vendor's app (the simulator's
// world) for the group by name, or for the notice or banner in the group,
// then telling the state what they found the way the fix says: pin (state
// import) or forget a create; `state resolve KEY posted|not-posted --hash H`
// for a post, with the hash the fix names. Lunkr resolves itself. It returns
// how many unknown outcomes it resolved.
func (r *rig) resolveAsHuman(ctx context.Context, p *reconcile.Plan) int {
	t := r.t
	t.Helper()
	n := 0
	intents := r.intents(ctx)
	for i := range p.Groups {
		gp := &p.Groups[i]
		g := r.group(gp.Key)
		for _, is := range gp.Errors {
			switch is.Kind {
			case reconcile.IssueUnknownCreate:
				n++
				r.resolveCreate(ctx, g, intents)
			case reconcile.IssueUnknownPost:
				n++
				hash := fixHash(is.Fix)
				if hash == "" {
					t.Errorf("%s: the fix of an unknown post names no post: %s", g.Key, is.Fix)
					continue
				}
				r.resolvePost(ctx, g, hash, intents)
			}
		}
	}
	return n
}

func (r *rig) resolveCreate(ctx context.Context, g *spec.Group, intents []state.Intent) {
	t := r.t
	ids := r.w.groupsNamed(g.Vendor, g.Name)
	switch len(ids) {
	case 0: // state forget KEY
		must(t, r.store.Forget(ctx, g.Key))
	case 1: // state import KEY ID --provider P
		must(t, r.store.Bind(ctx, state.Binding{Key: g.Key, Provider: g.Provider, GroupID: ids[0], Origin: state.OriginImported}))
		for _, in := range intents {
			if in.Key == g.Key && in.Kind == state.IntentCreate {
				must(t, r.store.AbandonIntent(ctx, in.ID))
			}
		}
	default:
		t.Errorf("%s: %d groups named %q: %v", g.Key, len(ids), g.Name, ids)
	}
}

// resolvePost settles the open post intent of g with content hash as `state
// resolve KEY posted|not-posted --hash HASH` does, after looking for it on
// the vendor.
func (r *rig) resolvePost(ctx context.Context, g *spec.Group, hash string, intents []state.Intent) {
	t := r.t
	for _, in := range intents {
		if in.Key != g.Key || in.Kind == state.IntentCreate || in.Hash != hash {
			continue
		}
		found, known := r.w.hasPost(g, in.GroupID, in.Hash)
		if !known {
			t.Errorf("%s: the fix names hash %s, which no notice or banner of the manifest has", g.Key, hash)
		}
		if found {
			kind := state.PostNotice
			if in.Kind == state.IntentBanner {
				kind = state.PostBanner
			}
			must(t, r.store.CompletePost(ctx, in.ID, state.Post{Key: g.Key, Kind: kind, Hash: in.Hash, PostedAt: in.StartedAt}))
		} else {
			must(t, r.store.AbandonIntent(ctx, in.ID))
		}
		return
	}
	t.Errorf("%s: the fix names hash %s, but no such intent is open", g.Key, hash)
}

var fixHashRE = regexp.MustCompile(`--hash ([0-9a-f]+)`)

// fixHash is the content hash an unknown-post fix names, or "".
func fixHash(fix string) string {
	if m := fixHashRE.FindStringSubmatch(fix); m != nil {
		return m[1]
	}
	return ""
}

// describe summarises a plan for failure messages.
func describe(p *reconcile.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v", p.Summary)
	for _, g := range p.Groups {
		for _, e := range g.Errors {
			fmt.Fprintf(&b, "\n  %s: %s: %s", g.Key, e.Kind, e.Message)
		}
	}
	return b.String()
}

package reconcile_test

// End-to-end tests: the planner and the applier against both vendors'
// simulators over real HTTP, through the real vendor clients and a real
// state file. The simulators' call counts say what went over the wire.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// Yunzhijia user ids.
const (
	alice    = "5b503ee9e4b02abb5318b23e"
	bob      = "5b6cea82e4b05df05b3efc2b"
	carol    = "5b7a1c0fe4b0a3d2c18e9f41"
	dave     = "5b8d2e61e4b07c55a92b3d07"
	erin     = "5b90c663e4b0216ee04a768c"
	stranger = "5bee6706e4b073e587c144ae"
)

const (
	yzjToken   = "yzj-e2e-token"
	lunkrToken = "lunkr-e2e-token"
)

// writeCallNames are the vendor calls that change something.
var writeCallNames = []string{
	yunzhijia.CallCreateGroup, yunzhijia.CallAddGroupUser, yunzhijia.CallDelGroupUser, yunzhijia.CallNotice, yunzhijia.CallBanner, yunzhijia.CallMerge,
	lunkr.CallCreate,
}

// world is both simulators behind real HTTP servers, a state file, and the
// clients of the providers kingdee (Yunzhijia) and coremail (Lunkr).
type world struct {
	t      *testing.T
	yzj    *yunzhijia.Simulator
	lk     *lunkr.Simulator
	yzjSrv *httptest.Server
	lkSrv  *httptest.Server
	gate   *gate
	dir    string
	store  *state.Store
	env    map[string]string
	n      int // manifests written
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{
		t:    t,
		yzj:  yunzhijia.NewSimulator(yzjToken),
		lk:   lunkr.NewSimulator(lunkrToken),
		gate: &gate{},
		dir:  t.TempDir(),
		env:  map[string]string{"YZJ_TOKEN": yzjToken, "LUNKR_TOKEN": lunkrToken},
	}
	w.yzjSrv = httptest.NewServer(w.gate.wrap(w.yzj))
	t.Cleanup(w.yzjSrv.Close)
	w.lkSrv = httptest.NewServer(w.gate.wrap(w.lk))
	t.Cleanup(w.lkSrv.Close)
	st, err := state.Open(filepath.Join(w.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.store = st
	return w
}

const manifestHead = `version: 1
providers:
  kingdee:
    vendor: yunzhijia
    endpoint: %s/
    token: ${YZJ_TOKEN}
    operator: erin
  coremail:
    vendor: lunkr
    endpoint: %s/
    token: ${LUNKR_TOKEN}
people:
  alice: {yunzhijia: 5b503ee9e4b02abb5318b23e, lunkr: alice@example.com}
  bob:   {yunzhijia: 5b6cea82e4b05df05b3efc2b, lunkr: bob@example.com}
  carol: {yunzhijia: 5b7a1c0fe4b0a3d2c18e9f41, lunkr: carol@example.com}
  dave:  {yunzhijia: 5b8d2e61e4b07c55a92b3d07, lunkr: dave@example.com}
  erin:  {yunzhijia: 5b90c663e4b0216ee04a768c, lunkr: erin@example.com}
groups:
`

// manifest writes the groups (YAML list items, indented by two) under the
// world's providers and people, and loads it as the CLI does.
func (w *world) manifest(groups string) *spec.Manifest {
	w.t.Helper()
	w.n++
	path := filepath.Join(w.dir, fmt.Sprintf("groups-%d.yaml", w.n))
	text := fmt.Sprintf(manifestHead, w.yzjSrv.URL, w.lkSrv.URL) + groups
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		w.t.Fatalf("manifest: %v\n%s", err, text)
	}
	return m
}

// clients builds a real client per provider, its token resolved from the
// environment, with fast retries that do not sleep.
func (w *world) clients(m *spec.Manifest) map[string]vendors.Client {
	w.t.Helper()
	out := map[string]vendors.Client{}
	for name, p := range m.Providers {
		tok, err := p.ResolveToken(func(k string) (string, bool) { v, ok := w.env[k]; return v, ok })
		if err != nil {
			w.t.Fatal(err)
		}
		tr := &vendors.Transport{
			BaseURL:     p.Endpoint,
			HTTP:        vendors.NewHTTPClient(5 * time.Second),
			Token:       vendors.StaticToken(name, tok),
			MaxAttempts: 3,
			BackoffBase: time.Millisecond,
			Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		}
		switch p.Vendor {
		case spec.Vendor("yunzhijia"):
			out[name] = yunzhijia.New(tr)
		case spec.Vendor("lunkr"):
			out[name] = lunkr.New(tr)
		}
	}
	return out
}

func capsOf(clients map[string]vendors.Client, m *spec.Manifest) map[spec.Vendor]vendors.Capabilities {
	caps := map[spec.Vendor]vendors.Capabilities{}
	for name, c := range clients {
		caps[m.Providers[name].Vendor] = c.Capabilities()
	}
	return caps
}

// plan reads live groups, caches the reads and builds the plan, as
// `groupsync plan` does.
func (w *world) plan(m *spec.Manifest) *reconcile.Plan {
	w.t.Helper()
	ctx := context.Background()
	st := w.store
	bindings, err := st.Bindings(ctx)
	must(w.t, err)
	intents, err := st.OpenIntents(ctx)
	must(w.t, err)
	posts, err := st.Posts(ctx)
	must(w.t, err)
	serial, err := st.Serial(ctx)
	must(w.t, err)
	clients := w.clients(m)
	obs := reconcile.Observe(ctx, m, bindings, intents, clients, 4, time.Now)
	must(w.t, st.SaveReads(ctx, reconcile.Reads(m, obs)))
	return reconcile.Build(reconcile.Input{
		Manifest: m, Bindings: bindings, Posts: posts, Intents: intents, Observed: obs,
		Caps: capsOf(clients, m), Refreshed: true, Serial: serial, Now: time.Now(),
	})
}

// apply executes p and caches what it did, as `groupsync apply` does.
func (w *world) apply(m *spec.Manifest, p *reconcile.Plan) *reconcile.Result {
	w.t.Helper()
	ctx := context.Background()
	a := &reconcile.Applier{Clients: w.clients(m), Journal: w.store, Parallelism: 4}
	res := a.Apply(ctx, p)
	cached, err := w.store.Reads(ctx)
	must(w.t, err)
	must(w.t, w.store.SaveReads(ctx, reconcile.AppliedReads(p, res, cached, time.Now())))
	return res
}

// planCached builds the plan from the state's cache alone, as
// `groupsync plan --refresh=false` does.
func (w *world) planCached(m *spec.Manifest) *reconcile.Plan {
	w.t.Helper()
	ctx := context.Background()
	bindings, err := w.store.Bindings(ctx)
	must(w.t, err)
	intents, err := w.store.OpenIntents(ctx)
	must(w.t, err)
	posts, err := w.store.Posts(ctx)
	must(w.t, err)
	reads, err := w.store.Reads(ctx)
	must(w.t, err)
	clients := w.clients(m)
	return reconcile.Build(reconcile.Input{
		Manifest: m, Bindings: bindings, Posts: posts, Intents: intents,
		Observed: reconcile.FromCache(m, bindings, reads), Caps: capsOf(clients, m), Now: time.Now(),
	})
}

// converge plans and applies, and fails the test if a group failed.
func (w *world) converge(m *spec.Manifest) *reconcile.Result {
	w.t.Helper()
	res := w.apply(m, w.plan(m))
	for _, r := range res.Groups {
		if r.Err != nil {
			w.t.Fatalf("apply: group %s: %v", r.Key, r.Err)
		}
	}
	return res
}

// calls returns both simulators' call counts in one map (the call names do
// not collide).
func (w *world) calls() map[string]int {
	out := w.yzj.Calls()
	for k, v := range w.lk.Calls() {
		out[k] += v
	}
	return out
}

// writes returns the write calls made since the last reset, by name; calls
// with a zero count are left out.
func (w *world) writes() map[string]int {
	out := map[string]int{}
	for k, v := range w.calls() {
		if slices.Contains(writeCallNames, k) && v > 0 {
			out[k] = v
		}
	}
	return out
}

func (w *world) resetCalls() {
	w.yzj.ResetCalls()
	w.lk.ResetCalls()
}

func (w *world) binding(key string) (state.Binding, bool) {
	w.t.Helper()
	b, ok, err := w.store.Binding(context.Background(), key)
	must(w.t, err)
	return b, ok
}

func (w *world) mustBinding(key string) string {
	w.t.Helper()
	b, ok := w.binding(key)
	if !ok {
		w.t.Fatalf("state has no binding for %s", key)
	}
	return b.GroupID
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gate stands in front of a simulator and fails every read of the group
// ids it is told to, with a 503 (the simulator never sees them), or drops
// the connection of the next write calls of a given name before the
// simulator sees them (a create that provably was not applied, though the
// client cannot know it).
type gate struct {
	mu       sync.Mutex
	fail     map[string]bool // group ids whose reads answer 503
	failed   map[string]int  // reads answered 503, by group id
	dropNext map[string]int  // path suffix -> requests to drop unseen
	written  map[string][]string
}

func (g *gate) failReads(groupID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail == nil {
		g.fail, g.failed = map[string]bool{}, map[string]int{}
	}
	g.fail[groupID] = true
}

func (g *gate) clearReads() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.fail)
}

func (g *gate) failedReads(groupID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.failed[groupID]
}

func (g *gate) dropBeforeApply(pathSuffix string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dropNext == nil {
		g.dropNext = map[string]int{}
	}
	g.dropNext[pathSuffix] = n
}

// writtenTo returns the group ids that write calls named a group by, in
// order of arrival.
func (g *gate) writtenTo() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.written["all"])
}

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var fields struct {
			GroupID string `json:"groupId"`
		}
		_ = json.Unmarshal(body, &fields)
		gid := fields.GroupID
		if gid == "" {
			gid = r.URL.Query().Get("groupId")
		}
		read := strings.HasSuffix(r.URL.Path, "/groupUsers") || strings.HasSuffix(r.URL.Path, "/groups/info")
		g.mu.Lock()
		if g.written == nil {
			g.written = map[string][]string{}
		}
		if !read && gid != "" {
			g.written["all"] = append(g.written["all"], gid)
		}
		failRead := read && g.fail[gid]
		if failRead {
			g.failed[gid]++
		}
		drop := false
		for suffix, n := range g.dropNext {
			if n > 0 && strings.HasSuffix(r.URL.Path, suffix) {
				g.dropNext[suffix], drop = n-1, true
			}
		}
		g.mu.Unlock()
		switch {
		case failRead:
			rw.Header().Set("Retry-After", "0")
			http.Error(rw, `{"success":false,"errorCode":503,"error":"unavailable"}`, http.StatusServiceUnavailable)
		case drop:
			conn, _, err := rw.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			next.ServeHTTP(rw, r)
		}
	})
}

// groupByKey returns the plan of key.
func groupByKey(t *testing.T, p *reconcile.Plan, key string) *reconcile.GroupPlan {
	t.Helper()
	for i := range p.Groups {
		if p.Groups[i].Key == key {
			return &p.Groups[i]
		}
	}
	t.Fatalf("plan has no group %s", key)
	return nil
}

// step is a group's plan reduced to what a reader checks.
type step struct {
	Action  reconcile.Action
	Bind    reconcile.BindKind
	Create  []string // member ids of the create
	Add     []string
	Notices []string // titles
	Banners []string
	Drift   []string // kind: member ids or live/desired
	Errors  []reconcile.IssueKind
}

func steps(p *reconcile.Plan) map[string]step {
	out := map[string]step{}
	for _, g := range p.Groups {
		s := step{Action: g.Action}
		if g.Bind != nil {
			s.Bind = g.Bind.Kind
		}
		if g.Create != nil {
			s.Create = ids(g.Create.Members)
		}
		s.Add = ids(g.Add)
		for _, n := range g.Notices {
			s.Notices = append(s.Notices, n.Title)
		}
		for _, b := range g.Banners {
			s.Banners = append(s.Banners, b.Title)
		}
		for _, d := range g.Drift {
			what := strings.Join(ids(d.Members), ",")
			if d.Live != "" || d.Desired != "" {
				what = d.Live + "->" + d.Desired
			}
			s.Drift = append(s.Drift, string(d.Kind)+":"+what)
		}
		for _, e := range g.Errors {
			s.Errors = append(s.Errors, e.Kind)
		}
		out[g.Key] = s
	}
	return out
}

func ids(ms []reconcile.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func memberIDs(g vendors.Group) []string {
	var out []string
	for _, m := range g.Members {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// The groups most tests start from: two Yunzhijia groups to create (one with
// notices and a banner), one to adopt, and two Lunkr groups to create.
const baseGroups = `  - key: crew
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice, carol]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
      - {title: 回滚预案, content: 按 Runbook 回滚}
    banners:
      - {title: Runbook, webpageUrl: "https://wiki.example.com/release"}
  - key: helpdesk
    provider: kingdee
    name: IT 服务台
    members: [alice, bob, dave]
  - key: legacy
    provider: kingdee
    groupId: 5e00000000000000000000aa
    owner: alice
    members: [bob]
  - key: dev
    provider: coremail
    name: 研发讨论
    members: [alice, bob, partner@partner.example.com]
  - key: ops
    provider: coremail
    type: sysTopic
    name: 运维广播
    members: [erin]
    subscribers: [alice, bob]
`

const legacyID = "5e00000000000000000000aa"

// seedLegacy makes the adopted group exist: alice and a member the
// manifest does not know.
func (w *world) seedLegacy() {
	w.yzj.SeedGroup(vendors.Group{ID: legacyID, Name: "老群", Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: stranger}}})
}

func TestE2EFirstPlanApplyAndSecondApply(t *testing.T) {
	w := newWorld(t)
	w.seedLegacy()
	m := w.manifest(baseGroups)

	p := w.plan(m)
	want := map[string]step{
		"crew":     {Action: "+", Create: []string{alice, carol}, Notices: []string{"发布窗口", "回滚预案"}, Banners: []string{"Runbook"}},
		"helpdesk": {Action: "+", Create: []string{alice, bob, dave}},
		"legacy":   {Action: "~", Bind: reconcile.BindAdopt, Add: []string{bob}, Drift: []string{"extra-member:" + stranger}},
		"dev":      {Action: "+", Create: []string{"alice@example.com", "bob@example.com", "partner@partner.example.com"}},
		"ops":      {Action: "+", Create: []string{"erin@example.com"}},
	}
	if diff := cmp.Diff(want, steps(p)); diff != "" {
		t.Errorf("first plan (-want +got):\n%s", diff)
	}
	wantSummary := reconcile.Summary{Create: 4, Adopt: 1, AddMembers: 1, Notices: 2, Banners: 1, Drift: 1,
		WriteCalls: 4 + 1 + 2 + 1, StateWrites: 1}
	if diff := cmp.Diff(wantSummary, p.Summary); diff != "" {
		t.Errorf("first plan summary (-want +got):\n%s", diff)
	}
	if got := w.writes(); len(got) != 0 {
		t.Errorf("plan made write calls: %v", got)
	}
	if got, want := w.calls(), map[string]int{yunzhijia.CallGroupUsers: 1}; !cmp.Equal(want, got) {
		t.Errorf("plan calls = %v, want only the read of the adopted group %v", got, want)
	}

	res := w.apply(m, p)
	if res.Failed != 0 || res.Created != 4 || res.Added != 1 || res.Notices != 2 || res.Banners != 1 || res.Bound != 1 {
		t.Fatalf("apply = %+v", res)
	}
	wantWrites := map[string]int{yunzhijia.CallCreateGroup: 2, yunzhijia.CallAddGroupUser: 1, yunzhijia.CallNotice: 2,
		yunzhijia.CallBanner: 1, lunkr.CallCreate: 2}
	if diff := cmp.Diff(wantWrites, w.writes()); diff != "" {
		t.Errorf("apply writes (-want +got):\n%s", diff)
	}

	// What the vendors now hold.
	crew, _ := w.yzj.Group(w.mustBinding("crew"))
	if diff := cmp.Diff(sorted(alice, bob, carol), memberIDs(crew)); diff != "" {
		t.Errorf("crew members (-want +got):\n%s", diff)
	}
	if crew.Name != "发布讨论组" || !slices.Equal(crew.Managers, []string{bob}) {
		t.Errorf("crew = %+v, want named 发布讨论组 and managed by bob", crew)
	}
	helpdesk, _ := w.yzj.Group(w.mustBinding("helpdesk"))
	if diff := cmp.Diff(sorted(alice, bob, dave, erin), memberIDs(helpdesk)); diff != "" {
		t.Errorf("helpdesk members: the operator erin creates it (-want +got):\n%s", diff)
	}
	if n := w.yzj.Notices(crew.ID); len(n) != 2 {
		t.Errorf("crew notices = %v, want 2", n)
	}
	legacy, _ := w.yzj.Group(legacyID)
	if diff := cmp.Diff(sorted(alice, bob, stranger), memberIDs(legacy)); diff != "" {
		t.Errorf("legacy members (-want +got):\n%s", diff)
	}
	ops, _ := w.lk.Group(w.mustBinding("ops"))
	if ops.Type != lunkr.TypeSysTopic || len(ops.Members) != 1 || len(ops.Subscribers) != 2 {
		t.Errorf("ops = %+v, want a sysTopic with 1 administrator and 2 subscribers", ops)
	}

	// The second round: nothing to do but the drift, and no write call.
	w.resetCalls()
	p2 := w.plan(m)
	want2 := map[string]step{
		"crew": {Action: " "}, "helpdesk": {Action: " "}, "dev": {Action: " "}, "ops": {Action: " "},
		"legacy": {Action: "!", Drift: []string{"extra-member:" + stranger}},
	}
	if diff := cmp.Diff(want2, steps(p2)); diff != "" {
		t.Errorf("second plan (-want +got):\n%s", diff)
	}
	if p2.CanApply() || !p2.HasDrift() || p2.HasErrors() {
		t.Errorf("second plan: CanApply %v HasDrift %v HasErrors %v, want only drift", p2.CanApply(), p2.HasDrift(), p2.HasErrors())
	}
	res2 := w.apply(m, p2)
	if len(res2.Groups) != 0 {
		t.Errorf("second apply touched groups: %+v", res2.Groups)
	}
	if got := w.writes(); len(got) != 0 {
		t.Errorf("second plan and apply made write calls: %v", got)
	}
	reads := w.calls()[yunzhijia.CallGroupUsers] + w.calls()[lunkr.CallInfo]
	if reads != 5 {
		t.Errorf("second plan made %d reads, want one per group (5)", reads)
	}
}

func TestE2EPlanFromCacheAfterApply(t *testing.T) {
	w := newWorld(t)
	w.seedLegacy()
	w.gate.failReads(legacyID) // the first plan cannot read legacy: no cache for it yet
	m := w.manifest(baseGroups)
	w.apply(m, w.plan(m))
	w.gate.clearReads()
	w.resetCalls()

	cached := w.planCached(m)
	want := map[string]step{
		"crew": {Action: " "}, "helpdesk": {Action: " "}, "dev": {Action: " "}, "ops": {Action: " "},
		"legacy": {Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueNotRead}},
	}
	if diff := cmp.Diff(want, steps(cached)); diff != "" {
		t.Errorf("plan from the cache after apply (-want +got):\n%s", diff)
	}
	if n := len(w.calls()); n != 0 {
		t.Errorf("a plan from the cache made calls: %v", w.calls())
	}

	// Once read and applied, legacy is cached as the apply left it.
	w.apply(m, w.plan(m))
	w.resetCalls()
	want["legacy"] = step{Action: "!", Drift: []string{"extra-member:" + stranger}}
	if diff := cmp.Diff(want, steps(w.planCached(m))); diff != "" {
		t.Errorf("plan from the cache after the second apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(steps(w.plan(m)), steps(w.planCached(m))); diff != "" {
		t.Errorf("plan from the cache differs from a live plan (-live +cached):\n%s", diff)
	}
}

func TestE2EPlanAfterManualChange(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *world)
		key    string
		want   step
	}{
		{"yunzhijia member left", func(w *world) { w.yzj.RemoveMember(w.mustBinding("crew"), carol) },
			"crew", step{Action: "~", Add: []string{carol}}},
		{"yunzhijia stranger added", func(w *world) { w.yzj.AddMember(w.mustBinding("crew"), stranger) },
			"crew", step{Action: "!", Drift: []string{"extra-member:" + stranger}}},
		{"yunzhijia group dismissed", func(w *world) { w.yzj.DeleteGroup(w.mustBinding("crew")) },
			"crew", step{Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueVanished}}},
		{"lunkr member left", func(w *world) { w.lk.RemoveMember(w.mustBinding("dev"), "bob@example.com") },
			"dev", step{Action: "!", Drift: []string{"missing-member:bob@example.com"}}},
		{"lunkr stranger added", func(w *world) { w.lk.AddMember(w.mustBinding("dev"), "mallory@example.com") },
			"dev", step{Action: "!", Drift: []string{"extra-member:mallory@example.com"}}},
		{"lunkr subscriber left", func(w *world) { w.lk.RemoveMember(w.mustBinding("ops"), "alice@example.com") },
			"ops", step{Action: "!", Drift: []string{"missing-subscriber:alice@example.com"}}},
		{"lunkr group deleted", func(w *world) { w.lk.DeleteGroup(w.mustBinding("dev")) },
			"dev", step{Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueVanished}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.seedLegacy()
			m := w.manifest(baseGroups)
			w.converge(m)
			tt.change(w)
			w.resetCalls()

			p := w.plan(m)
			got := steps(p)
			if diff := cmp.Diff(tt.want, got[tt.key]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.key, diff)
			}
			for key, s := range got {
				if key == tt.key || key == "legacy" {
					continue
				}
				if diff := cmp.Diff(step{Action: " "}, s); diff != "" {
					t.Errorf("%s changed too (-want +got):\n%s", key, diff)
				}
			}
			if got := w.writes(); len(got) != 0 {
				t.Errorf("plan made write calls: %v", got)
			}
			if tt.want.Errors != nil {
				g := groupByKey(t, p, tt.key)
				if fix := g.Errors[0].Fix; !strings.Contains(fix, "state forget "+tt.key) {
					t.Errorf("vanished fix = %q, want it to name `state forget %s`", fix, tt.key)
				}
				// Applying never recreates a vanished group.
				w.apply(m, p)
				if got := w.writes(); len(got) != 0 {
					t.Errorf("apply after a vanished group made write calls: %v", got)
				}
			}
		})
	}
}

func TestE2EUnknownCreateYunzhijia(t *testing.T) {
	faults := []struct {
		name   string
		inject func(w *world)
	}{
		{"answer lost", func(w *world) { w.yzj.FailNextAfterApply(yunzhijia.CallCreateGroup, 1) }},
		{"connection dropped", func(w *world) {
			w.yzj.SetFaults(yunzhijia.Faults{DropRate: 1, Calls: []string{yunzhijia.CallCreateGroup}})
		}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			w := newWorld(t)
			m := w.manifest(`  - key: crew
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
`)
			f.inject(w)
			res := w.apply(m, w.plan(m))
			r := res.Groups[0]
			if r.Err == nil || !r.Unknown || !errors.Is(r.Err, vendors.ErrUnknownOutcome) || r.Created || r.Notices != 0 {
				t.Fatalf("apply = %+v, want an unknown create and nothing after it", r)
			}
			if !strings.Contains(r.Err.Error(), "group crew") {
				t.Errorf("error %q does not name the group", r.Err)
			}
			w.yzj.SetFaults(yunzhijia.Faults{})
			made := w.yzj.Groups()
			if len(made) != 1 {
				t.Fatalf("simulator has %d groups, want the 1 the lost create made", len(made))
			}

			// Later applies are blocked: never a second create.
			for range 3 {
				p := w.plan(m)
				if diff := cmp.Diff(step{Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueUnknownCreate}}, steps(p)["crew"]); diff != "" {
					t.Fatalf("plan after unknown create (-want +got):\n%s", diff)
				}
				w.apply(m, p)
			}
			if n := w.calls()[yunzhijia.CallCreateGroup]; n != 1 {
				t.Fatalf("createGroup called %d times, want 1", n)
			}

			// Pinning the group the lost create made settles it.
			pinned := w.manifest(strings.Replace(`  - key: crew
    provider: kingdee
    groupId: ID
    name: 发布讨论组
    owner: bob
    members: [alice]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
`, "ID", made[0].ID, 1))
			p := w.plan(pinned)
			if diff := cmp.Diff(step{Action: "~", Bind: reconcile.BindAdopt, Notices: []string{"发布窗口"}}, steps(p)["crew"]); diff != "" {
				t.Errorf("plan with the pin (-want +got):\n%s", diff)
			}
			w.resetCalls()
			w.apply(pinned, p)
			if diff := cmp.Diff(map[string]int{yunzhijia.CallNotice: 1}, w.writes()); diff != "" {
				t.Errorf("apply with the pin (-want +got):\n%s", diff)
			}
			if got := steps(w.plan(pinned))["crew"]; got.Action != " " {
				t.Errorf("after the pin: %+v, want in sync", got)
			}
			intents, err := w.store.OpenIntents(context.Background())
			must(t, err)
			if len(intents) != 0 {
				t.Errorf("open intents after the pin: %+v", intents)
			}
			if n := len(w.yzj.Groups()); n != 1 {
				t.Errorf("simulator has %d groups, want 1", n)
			}
		})
	}
}

func TestE2EUnknownCreateYunzhijiaForget(t *testing.T) {
	w := newWorld(t)
	m := w.manifest(`  - key: crew
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice]
`)
	w.yzj.FailNextAfterApply(yunzhijia.CallCreateGroup, 1)
	w.apply(m, w.plan(m))
	must(t, w.store.Forget(context.Background(), "crew"))
	// The user chose to create it again: one more create, then in sync.
	w.converge(m)
	if n := w.calls()[yunzhijia.CallCreateGroup]; n != 2 {
		t.Errorf("createGroup called %d times, want 2 (the lost one, then the one after forget)", n)
	}
	if s := steps(w.plan(m))["crew"]; s.Action != " " {
		t.Errorf("after forget and apply: %+v, want in sync", s)
	}
}

func TestE2EUnknownCreateLunkr(t *testing.T) {
	tests := []struct {
		name     string
		inject   func(w *world)
		bind     reconcile.BindKind
		creates  int // groups/create calls that reached the simulator
		simCount int // groups on the simulator at the end
	}{
		{"answer lost: recovered from groups/list", func(w *world) { w.lk.FailNextAfterApply(lunkr.CallCreate, 1) }, reconcile.BindRecover, 1, 1},
		{"connection dropped after apply: recovered", func(w *world) {
			w.lk.SetFaults(lunkr.Faults{DropRate: 1, Calls: []string{lunkr.CallCreate}})
		}, reconcile.BindRecover, 1, 1},
		{"dropped before the vendor saw it: created again", func(w *world) { w.gate.dropBeforeApply("/groups/create", 1) },
			reconcile.BindRetry, 1, 1}, // the dropped request never reached it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			// Another group of the same name, made before: never taken for the lost one.
			w.lk.SeedGroup(vendors.Group{Name: "研发讨论", CreateTime: time.Now().Add(-time.Hour).UnixMilli(),
				Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
			m := w.manifest(`  - key: dev
    provider: coremail
    name: 研发讨论
    members: [alice, bob]
`)
			tt.inject(w)
			res := w.apply(m, w.plan(m))
			if r := res.Groups[0]; !r.Unknown || r.Created {
				t.Fatalf("apply = %+v, want an unknown create", r)
			}
			w.lk.SetFaults(lunkr.Faults{})

			p := w.plan(m)
			g := groupByKey(t, p, "dev")
			if g.Bind == nil || g.Bind.Kind != tt.bind || len(g.Errors) != 0 {
				t.Fatalf("plan after the lost create: bind %+v errors %+v, want %s", g.Bind, g.Errors, tt.bind)
			}
			if tt.bind == reconcile.BindRecover && g.Create != nil {
				t.Errorf("recovered group is created again: %+v", g.Create)
			}
			w.apply(m, p)
			if s := steps(w.plan(m))["dev"]; s.Action != " " {
				t.Errorf("after recovery: %+v, want in sync", s)
			}
			if n := w.calls()[lunkr.CallCreate]; n != tt.creates {
				t.Errorf("groups/create reached the simulator %d times, want %d", n, tt.creates)
			}
			var named []string
			for _, lg := range w.lk.Groups() {
				if lg.Name == "研发讨论" && lg.CreateTime > time.Now().Add(-time.Minute).UnixMilli() {
					named = append(named, lg.ID)
				}
			}
			if len(named) != tt.simCount {
				t.Fatalf("simulator has groups %v made by groupsync, want %d", named, tt.simCount)
			}
			if id := w.mustBinding("dev"); id != named[0] {
				t.Errorf("dev is bound to %s, want %s", id, named[0])
			}
		})
	}
}

func TestE2ELunkrRecoveryAmbiguous(t *testing.T) {
	w := newWorld(t)
	m := w.manifest(`  - key: ops
    provider: coremail
    type: sysTopic
    name: 运维广播
    members: [erin]
    subscribers: [alice]
`)
	w.lk.FailNextAfterApply(lunkr.CallCreate, 1)
	w.apply(m, w.plan(m))
	// Someone makes another broadcast of that name with erin: which one the
	// lost create made cannot be told.
	w.lk.SeedGroup(vendors.Group{Name: "运维广播", Type: lunkr.TypeSysTopic, Members: []vendors.LiveMember{{Email: "erin@example.com"}}})
	for range 2 {
		p := w.plan(m)
		if diff := cmp.Diff(step{Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueRecoveryFailed}}, steps(p)["ops"]); diff != "" {
			t.Fatalf("plan (-want +got):\n%s", diff)
		}
		if msg := groupByKey(t, p, "ops").Errors[0].Message; !strings.Contains(msg, "2 groups named") {
			t.Errorf("message %q does not say why", msg)
		}
		w.apply(m, p)
	}
	if n := w.calls()[lunkr.CallCreate]; n != 1 {
		t.Errorf("groups/create called %d times, want 1", n)
	}
}

func TestE2EChangedNoticePostedOnce(t *testing.T) {
	w := newWorld(t)
	group := `  - key: crew
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice]
    notices:
      - {title: 发布窗口, content: CONTENT}
`
	m := w.manifest(strings.Replace(group, "CONTENT", "每周四 20:00 发布", 1))
	w.converge(m)
	changed := w.manifest(strings.Replace(group, "CONTENT", "每周五 20:00 发布", 1))
	w.resetCalls()
	if diff := cmp.Diff(step{Action: "~", Notices: []string{"发布窗口"}}, steps(w.plan(changed))["crew"]); diff != "" {
		t.Errorf("plan after a changed notice (-want +got):\n%s", diff)
	}
	w.converge(changed)
	w.converge(changed)
	if diff := cmp.Diff(map[string]int{yunzhijia.CallNotice: 1}, w.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	got := w.yzj.Notices(w.mustBinding("crew"))
	if len(got) != 2 || got[1].Content != "每周五 20:00 发布" {
		t.Errorf("notices = %+v", got)
	}
}

func TestE2ELostNoticeNotReposted(t *testing.T) {
	w := newWorld(t)
	m := w.manifest(`  - key: crew
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
      - {title: 回滚预案, content: 按 Runbook 回滚}
    banners:
      - {title: Runbook, webpageUrl: "https://wiki.example.com/release"}
`)
	w.yzj.FailNextAfterApply(yunzhijia.CallNotice, 1)
	w.yzj.FailNextAfterApply(yunzhijia.CallBanner, 1)
	res := w.apply(m, w.plan(m))
	r := res.Groups[0]
	if !r.Created || r.Notices != 1 || r.Banners != 0 || !r.Unknown {
		t.Fatalf("apply = %+v, want created, 1 notice posted and the others unknown", r)
	}
	id := w.mustBinding("crew")
	for range 2 {
		p := w.plan(m)
		g := groupByKey(t, p, "crew")
		if len(g.Notices) != 0 || len(g.Banners) != 0 || len(g.Errors) != 2 {
			t.Fatalf("plan after lost posts: notices %v banners %v errors %v, want none and 2 unknown-post errors", g.Notices, g.Banners, g.Errors)
		}
		for _, e := range g.Errors {
			if e.Kind != reconcile.IssueUnknownPost || !strings.Contains(e.Fix, "state resolve crew") {
				t.Errorf("error %+v, want unknown-post with the resolve fix", e)
			}
		}
		w.apply(m, p)
	}
	if n, b := len(w.yzj.Notices(id)), len(w.yzj.Banners(id)); n != 2 || b != 1 {
		t.Errorf("group has %d notices and %d banners, want 2 and 1: nothing reposted", n, b)
	}
	calls := w.calls()
	if calls[yunzhijia.CallNotice] != 2 || calls[yunzhijia.CallBanner] != 1 {
		t.Errorf("calls = %v, want 2 notice and 1 banner posts in all", calls)
	}
}

func TestE2EOneFailingGroupAmongMany(t *testing.T) {
	t.Run("operator not in an adopted group", func(t *testing.T) {
		w := newWorld(t)
		w.yzj.SeedGroup(vendors.Group{ID: legacyID, Managers: []string{carol}, Members: []vendors.LiveMember{{ID: carol}}})
		m := w.manifest(baseGroups)
		p := w.plan(m)
		g := groupByKey(t, p, "legacy")
		if len(g.Errors) != 1 || g.Errors[0].Kind != reconcile.IssueReadFailed || len(g.Add) > 0 {
			t.Fatalf("legacy: %+v, want a failed read", g)
		}
		msg := g.Errors[0].Message
		for _, want := range []string{"groupUsers", "no permission", "403"} {
			if !strings.Contains(msg, want) {
				t.Errorf("legacy error %q does not say %q", msg, want)
			}
		}
		// The plan shows the issue under its key: the message does not
		// name the group again.
		if strings.Contains(msg, "group legacy") {
			t.Errorf("legacy error %q repeats the key", msg)
		}
		res := w.apply(m, p)
		if res.Failed != 0 || res.Created != 4 {
			t.Errorf("apply = %+v, want the 4 other groups created", res)
		}
		if got, _ := w.yzj.Group(legacyID); len(got.Members) != 1 {
			t.Errorf("legacy was written to: %+v", got)
		}
	})
	t.Run("forced code on one create", func(t *testing.T) {
		w := newWorld(t)
		w.seedLegacy()
		m := w.manifest(baseGroups)
		w.lk.ForceCode(lunkr.CallCreate, lunkr.CodeNoPermission, 1)
		res := w.apply(m, w.plan(m))
		if res.Failed != 1 || res.Created != 3 || res.Notices != 2 || res.Added != 1 {
			t.Fatalf("apply = %+v, want 1 group failed and the others applied", res)
		}
		var failed reconcile.GroupResult
		for _, r := range res.Groups {
			if r.Err != nil {
				failed = r
			}
		}
		if failed.Unknown || !errors.Is(failed.Err, vendors.ErrNoPermission) ||
			!strings.Contains(failed.Err.Error(), "group "+failed.Key+":") || !strings.Contains(failed.Err.Error(), "10006") {
			t.Errorf("failed group %s: %v, want a no-permission error naming the group and the code", failed.Key, failed.Err)
		}
		// A refused create was not made: the next apply makes it.
		w.resetCalls()
		p := w.plan(m)
		if s := steps(p)[failed.Key]; s.Action != "+" {
			t.Errorf("%s after a refused create: %+v, want a create", failed.Key, s)
		}
		w.apply(m, p)
		if diff := cmp.Diff(map[string]int{lunkr.CallCreate: 1}, w.writes()); diff != "" {
			t.Errorf("second apply writes (-want +got):\n%s", diff)
		}
	})
	t.Run("owner removed between plan and apply", func(t *testing.T) {
		w := newWorld(t)
		w.seedLegacy()
		m := w.manifest(baseGroups)
		p := w.plan(m)
		w.yzj.RemoveMember(legacyID, alice) // alice, the owner, leaves: addGroupUser is refused
		res := w.apply(m, p)
		if res.Failed != 1 || res.Created != 4 {
			t.Fatalf("apply = %+v, want legacy failed and 4 groups created", res)
		}
		for _, r := range res.Groups {
			if (r.Err != nil) != (r.Key == "legacy") {
				t.Errorf("%s: %v", r.Key, r.Err)
			}
		}
		if err := res.Groups[slices.IndexFunc(res.Groups, func(r reconcile.GroupResult) bool { return r.Key == "legacy" })].Err; !strings.Contains(err.Error(), "group legacy: add 1 members") || !errors.Is(err, vendors.ErrNoPermission) {
			t.Errorf("legacy error = %v", err)
		}
	})
}

func TestE2EFailedReadMakesNoWrite(t *testing.T) {
	w := newWorld(t)
	w.seedLegacy()
	lkID := w.lk.SeedGroup(vendors.Group{Name: "研发讨论", Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
	m := w.manifest(baseGroups + fmt.Sprintf(`  - key: lk-legacy
    provider: coremail
    groupId: "%s"
    name: 研发讨论
    members: [alice, bob]
  - key: legacy2
    provider: kingdee
    groupId: 5e00000000000000000000bb
    owner: alice
    members: [bob, carol]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
`, lkID))
	w.yzj.SeedGroup(vendors.Group{ID: "5e00000000000000000000bb", Managers: []string{alice}, Members: []vendors.LiveMember{{ID: alice}}})
	w.gate.failReads(legacyID)
	w.gate.failReads(lkID)

	p := w.plan(m)
	for _, key := range []string{"legacy", "lk-legacy"} {
		g := groupByKey(t, p, key)
		if len(g.Errors) != 1 || g.Errors[0].Kind != reconcile.IssueReadFailed || len(g.Add) > 0 || len(g.Drift) > 0 || g.Bind != nil && g.Bind.Kind != reconcile.BindAdopt {
			t.Errorf("%s: %+v, want only a read-failed error", key, g)
		}
		if !strings.Contains(g.Errors[0].Message, "503") {
			t.Errorf("%s: error %q does not give the status", key, g.Errors[0].Message)
		}
	}
	if n := w.gate.failedReads(legacyID); n != 3 {
		t.Errorf("legacy read %d times, want 3 (retried up to MaxAttempts)", n)
	}
	if s := steps(p)["legacy2"]; !slices.Equal(s.Add, []string{bob, carol}) || len(s.Notices) != 1 {
		t.Errorf("legacy2: %+v, want its members added and its notice posted", s)
	}
	res := w.apply(m, p)
	if res.Failed != 0 {
		t.Fatalf("apply = %+v", res)
	}
	for _, id := range w.gate.writtenTo() {
		if id == legacyID || id == lkID {
			t.Errorf("a write call named group %s, whose read failed", id)
		}
	}
	if got, _ := w.yzj.Group(legacyID); len(got.Members) != 2 {
		t.Errorf("legacy changed: %+v", got)
	}
	if _, ok := w.binding("legacy"); ok {
		t.Errorf("legacy was bound although its read failed")
	}
	_, cached, err := w.store.CachedRead(context.Background(), "legacy")
	must(t, err)
	if cached {
		t.Errorf("a failed read was cached")
	}
}

func TestE2ERenameKeepsVendorGroup(t *testing.T) {
	w := newWorld(t)
	old := w.manifest(`  - key: release-team
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
      - {title: 回滚预案, content: 按 Runbook 回滚}
  - key: lk-old
    provider: coremail
    name: 研发讨论
    members: [alice]
`)
	w.yzj.FailNextAfterApply(yunzhijia.CallNotice, 1) // the first notice's answer is lost
	w.apply(old, w.plan(old))
	yzjID, lkID := w.mustBinding("release-team"), w.mustBinding("lk-old")
	w.lk.AddMember(lkID, "mallory@example.com") // seen first by the plan of the rename
	w.resetCalls()

	renamed := w.manifest(`  - key: release-crew
    previously: [release-team]
    provider: kingdee
    name: 发布讨论组
    owner: bob
    members: [alice, carol]
    notices:
      - {title: 发布窗口, content: 每周四 20:00 发布}
      - {title: 回滚预案, content: 按 Runbook 回滚}
  - key: lk-new
    previously: [lk-old]
    provider: coremail
    name: 研发讨论
    members: [alice]
`)
	p := w.plan(renamed)
	want := map[string]step{
		"release-crew": {Action: "~", Bind: reconcile.BindRename, Add: []string{carol}, Errors: []reconcile.IssueKind{reconcile.IssueUnknownPost}},
		"lk-new":       {Action: "~", Bind: reconcile.BindRename, Drift: []string{"extra-member:mallory@example.com"}},
	}
	if diff := cmp.Diff(want, steps(p)); diff != "" {
		t.Errorf("plan after the rename (-want +got):\n%s", diff)
	}
	if len(p.Orphans) != 0 {
		t.Errorf("orphans = %v, want none: the old keys are claimed by previously", p.Orphans)
	}
	res := w.apply(renamed, p)
	if res.Failed != 0 {
		t.Fatalf("apply = %+v", res)
	}
	if diff := cmp.Diff(map[string]int{yunzhijia.CallAddGroupUser: 1}, w.writes()); diff != "" {
		t.Errorf("writes after the rename (-want +got):\n%s", diff)
	}
	if id := w.mustBinding("release-crew"); id != yzjID {
		t.Errorf("release-crew bound to %s, want the old group %s", id, yzjID)
	}
	if id := w.mustBinding("lk-new"); id != lkID {
		t.Errorf("lk-new bound to %s, want the old group %s", id, lkID)
	}
	if _, ok := w.binding("release-team"); ok {
		t.Errorf("the old key is still bound")
	}
	// The cache keeps the reads of the rename's plan, and what it did.
	wantAfter := map[string]step{
		"release-crew": {Action: "!", Errors: []reconcile.IssueKind{reconcile.IssueUnknownPost}},
		"lk-new":       {Action: "!", Drift: []string{"extra-member:mallory@example.com"}},
	}
	if diff := cmp.Diff(wantAfter, steps(w.planCached(renamed))); diff != "" {
		t.Errorf("plan from the cache after the rename (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantAfter, steps(w.plan(renamed))); diff != "" {
		t.Errorf("plan after the rename (-want +got):\n%s", diff)
	}
	if n := len(w.yzj.Notices(yzjID)); n != 2 {
		t.Errorf("group has %d notices, want 2: a rename does not repost", n)
	}
}

func TestE2ELunkrEmailsWithoutCase(t *testing.T) {
	w := newWorld(t)
	w.lk.AddUser("", "bob@example.com", "Bob")
	w.lk.AddUser("77", "carol@example.com", "Carol")
	pinned := w.lk.SeedGroup(vendors.Group{Name: "研发讨论", Members: []vendors.LiveMember{
		{Email: "alice@example.com"}, {Email: "bob@example.com"}, {ID: "77"}}})
	m := w.manifest(fmt.Sprintf(`  - key: pinned
    provider: coremail
    groupId: "%s"
    name: 研发讨论
    members: [ALICE@example.com, Bob@Example.com, Carol@EXAMPLE.com]
  - key: fresh
    provider: coremail
    name: 新群
    members: [Bob@Example.com, "77"]
`, pinned))
	p := w.plan(m)
	want := map[string]step{
		"pinned": {Action: "~", Bind: reconcile.BindAdopt},
		"fresh":  {Action: "+", Create: []string{"Bob@Example.com", "77"}},
	}
	if diff := cmp.Diff(want, steps(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	w.apply(m, p)
	p2 := w.plan(m)
	if diff := cmp.Diff(map[string]step{"pinned": {Action: " "}, "fresh": {Action: " "}}, steps(p2)); diff != "" {
		t.Errorf("plan after apply (-want +got):\n%s", diff)
	}
	fresh, _ := w.lk.Group(w.mustBinding("fresh"))
	var emails []string
	for _, mem := range fresh.Members {
		emails = append(emails, strings.ToLower(mem.Email))
	}
	if diff := cmp.Diff(sorted("bob@example.com", "carol@example.com"), sorted(emails...)); diff != "" {
		t.Errorf("fresh members: the existing users, not new ones (-want +got):\n%s", diff)
	}
}

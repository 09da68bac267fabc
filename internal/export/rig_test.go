package export_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/export"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const token = "export-test-token"

// Users of the worlds. The providers manifest knows alice, bob and erin;
// the others are strangers to it.
const (
	alice    = "5b503ee9e4b02abb5318b23e"
	bob      = "5b6cea82e4b05df05b3efc2b"
	erin     = "5b90c663e4b0216ee04a768c" // kingdee's operator
	stranger = "5bee6706e4b073e587c144ae"
	zed      = "5ba3f7d2e4b0e1c8d46a2b95"
)

// rig is both vendors' simulators over real HTTP and a providers manifest
// pointing at them, in a temporary directory.
type rig struct {
	t      *testing.T
	dir    string
	yzj    *yunzhijia.Simulator
	lk     *lunkr.Simulator
	yzjURL string
	lkURL  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), yzj: yunzhijia.NewSimulator(token), lk: lunkr.NewSimulator(token)}
	ys := httptest.NewServer(r.yzj)
	t.Cleanup(ys.Close)
	ls := httptest.NewServer(r.lk)
	t.Cleanup(ls.Close)
	r.yzjURL, r.lkURL = ys.URL+"/", ls.URL+"/"
	// A fixed clock: the groups' createTime is not what is tested.
	r.lk.SetNow(func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	return r
}

// providersHead is the manifest export is given: the providers, the
// people it knows, and (appended) groups it already manages.
const providersHead = `version: 1
providers:
  kingdee:
    vendor: yunzhijia
    endpoint: %s
    token: ${TOK}
    operator: erin
    read: full
  coremail:
    vendor: lunkr
    endpoint: %s
    token: ${TOK}
people:
  alice: {yunzhijia: 5b503ee9e4b02abb5318b23e, lunkr: alice@example.com}
  bob:   {yunzhijia: 5b6cea82e4b05df05b3efc2b, lunkr: "1000777"}
  erin:  {yunzhijia: 5b90c663e4b0216ee04a768c, lunkr: erin@example.com}
groups:
`

// providers writes the providers manifest with groups (YAML list items
// indented by two; empty for none) and loads it.
func (r *rig) providers(groups string) (string, *spec.Manifest) {
	r.t.Helper()
	path := filepath.Join(r.dir, "providers.yaml")
	text := fmt.Sprintf(providersHead, r.yzjURL, r.lkURL) + groups
	if groups == "" {
		text = strings.TrimSuffix(text, "groups:\n") + "groups: []\n"
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		r.t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		r.t.Fatalf("providers manifest: %v\n%s", err, text)
	}
	return path, m
}

// client is a real client of provider name, with retries that do not sleep.
func (r *rig) client(m *spec.Manifest, name string) vendors.Client {
	p := m.Providers[name]
	tr := &vendors.Transport{
		BaseURL:     p.Endpoint,
		HTTP:        vendors.NewHTTPClient(5 * time.Second),
		Token:       vendors.StaticToken(name, token),
		MaxAttempts: 3,
		BackoffBase: time.Millisecond,
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	if p.Vendor == spec.Vendor("yunzhijia") {
		return yunzhijia.New(tr)
	}
	return lunkr.New(tr)
}

// calls is both simulators' call counts, by call name.
func (r *rig) calls() map[string]int {
	out := r.yzj.Calls()
	for k, v := range r.lk.Calls() {
		out[k] += v
	}
	return out
}

// readCalls are the calls export may make.
var readCalls = map[string]bool{
	lunkr.CallInfo: true, lunkr.CallList: true,
	yunzhijia.CallGroupUsers: true, yunzhijia.CallGroupInfo: true,
}

// checkReadOnly fails the test on any vendor call that is not a read.
func (r *rig) checkReadOnly() {
	r.t.Helper()
	for call, n := range r.calls() {
		if n > 0 && !readCalls[call] {
			r.t.Errorf("%d %s calls: export must only read", n, call)
		}
	}
}

var when = time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)

// export runs an export with o (Manifest and Now filled) and writes it.
func (r *rig) export(m *spec.Manifest, o export.Options) (*export.Result, string) {
	r.t.Helper()
	o.Manifest, o.Now = m, when
	if o.Parallelism == 0 {
		o.Parallelism = 4
	}
	res, err := export.Export(context.Background(), r.client(m, o.Provider), o)
	if err != nil {
		r.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.Write(&b); err != nil {
		r.t.Fatal(err)
	}
	r.checkReadOnly()
	return res, b.String()
}

// plan loads the providers manifest and the exported text together and
// plans them against the simulators on a fresh state.
func (r *rig) plan(providers, exported string) *reconcile.Plan {
	r.t.Helper()
	path := filepath.Join(r.dir, "exported.yaml")
	if err := os.WriteFile(path, []byte(exported), 0o600); err != nil {
		r.t.Fatal(err)
	}
	m, err := spec.Load(providers, path)
	if err != nil {
		r.t.Fatalf("the exported manifest is not valid with the providers: %v\n%s", err, exported)
	}
	st, err := state.Open(filepath.Join(r.t.TempDir(), "state.db"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer st.Close()
	clients := map[string]vendors.Client{}
	caps := map[spec.Vendor]vendors.Capabilities{}
	for name, p := range m.Providers {
		clients[name] = r.client(m, name)
		caps[p.Vendor] = clients[name].Capabilities()
	}
	p, err := reconcile.MakePlan(context.Background(), m, st, reconcile.PlanOptions{Clients: clients, Caps: caps, Parallelism: 4, Refresh: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

// checkRoundTrip fails unless the plan only adopts the exported groups:
// nothing to create, add, remove or post, no drift, no error.
func checkRoundTrip(t *testing.T, p *reconcile.Plan, exported int, text string) {
	t.Helper()
	want := reconcile.Summary{Adopt: exported, StateWrites: exported}
	got := p.Summary
	got.InSync = 0 // the providers manifest's own groups, if any
	if got != want {
		for _, g := range p.Groups {
			if g.Action != reconcile.ActionUpdate || g.Bind == nil || len(g.Drift)+len(g.Errors)+len(g.Add) > 0 {
				t.Errorf("group %s: %+v", g.Key, g)
			}
		}
		t.Fatalf("plan summary %+v, want %+v\n%s", p.Summary, want, text)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

package converge_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"groupsync/internal/converge"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	_ "groupsync/internal/vendors/registry"
)

const token = "converge-token"

// world is a manifest of two new Yunzhijia groups against the registry's
// simulator, and a fresh state.
type world struct {
	m       *spec.Manifest
	url     string // the simulator's
	dir     string
	store   *state.Store
	sim     vendors.Simulator
	clients map[string]vendors.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	d, ok := vendors.Lookup("yunzhijia")
	if !ok {
		t.Fatal("yunzhijia is not registered")
	}
	w := &world{sim: d.Sim.New(token)}
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.url, w.dir = srv.URL, t.TempDir()
	w.m = w.load(t, `
  - {key: a, provider: kingdee, name: A, members: ["5b503ee9e4b02abb5318b23e"]}
  - {key: b, provider: kingdee, name: B, members: ["5b6cea82e4b05df05b3efc2b"]}
`)
	var err error
	w.store, err = state.Open(filepath.Join(w.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	w.clients = map[string]vendors.Client{"kingdee": d.New(&vendors.Transport{BaseURL: srv.URL + "/", Token: vendors.StaticToken("kingdee", token)})}
	return w
}

// load loads a manifest of groups (YAML list items) of the provider
// kingdee, on the world's simulator.
func (w *world) load(t *testing.T, groups string) *spec.Manifest {
	t.Helper()
	yaml := `version: 1
providers:
  kingdee: {vendor: yunzhijia, endpoint: "` + w.url + `/", token: "${T}", operator: "5b90c663e4b0216ee04a768c"}
groups:` + groups
	path := filepath.Join(w.dir, "groups.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (w *world) flow(limits converge.Limits) *converge.Flow {
	return &converge.Flow{
		Planner: converge.Planner{Store: w.store, Clients: w.clients, Parallelism: 2},
		Trigger: "apply", Limits: limits, What: "the apply",
	}
}

func (w *world) runs(t *testing.T) []state.Run {
	t.Helper()
	runs, err := w.store.Runs(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func creates(sim vendors.Simulator) int {
	n := 0
	for call, c := range sim.Calls() {
		if call == "createGroup" {
			n += c
		}
	}
	return n
}

// TestFlowAppliesAndRecords: a plan applied is bound, its reads cached, the
// run recorded ok; the next run has nothing to apply.
func TestFlowAppliesAndRecords(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var shown, applied int
	f := w.flow(converge.Limits{MaxNewGroups: 2})
	f.Show = func(*reconcile.Plan) error { shown++; return nil }
	f.Applied = func(*reconcile.Plan, *reconcile.Result) { applied++ }
	rep := f.Run(ctx, w.m, nil)
	if rep.Err != nil || rep.Outcome != state.RunOK || rep.Result == nil || rep.Result.Created != 2 {
		t.Fatalf("report %+v, want two groups created and ok", rep)
	}
	if shown != 1 || applied != 1 {
		t.Errorf("shown %d, applied %d; want each once", shown, applied)
	}
	b, _ := w.store.Bindings(ctx)
	if len(b) != 2 {
		t.Errorf("bindings %v, want a and b", b)
	}
	if runs := w.runs(t); len(runs) != 1 || runs[0].Outcome != state.RunOK || runs[0].Created != 2 {
		t.Errorf("runs %+v, want one ok run that created 2", runs)
	}
	var said []string
	f.Say = func(l string) { said = append(said, l) }
	rep = f.Run(ctx, w.m, nil)
	if rep.Err != nil || rep.Result != nil || len(said) != 1 || said[0] != "Nothing to apply." {
		t.Errorf("second run: %+v, said %q; want nothing to apply", rep, said)
	}
	if n := creates(w.sim); n != 2 {
		t.Errorf("creates %d, want 2", n)
	}
}

// TestFlowSafetyAndApproval: a plan over the limit, or refused, changes
// nothing: no call, no binding, no run recorded.
func TestFlowSafetyAndApproval(t *testing.T) {
	refused := errors.New("apply cancelled; nothing was changed")
	for name, f := range map[string]func(w *world) *converge.Flow{
		"over --max-new-groups": func(w *world) *converge.Flow { return w.flow(converge.Limits{MaxNewGroups: 1}) },
		"not approved": func(w *world) *converge.Flow {
			f := w.flow(converge.Limits{MaxNewGroups: 2})
			f.Approve = func(*reconcile.Plan) error { return refused }
			return f
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			rep := f(w).Run(context.Background(), w.m, nil)
			if rep.Err == nil || rep.Result != nil || rep.Outcome != state.RunFailed {
				t.Fatalf("report %+v, want refused before any change", rep)
			}
			if n := creates(w.sim); n != 0 {
				t.Errorf("creates %d, want none", n)
			}
			if runs := w.runs(t); len(runs) != 0 {
				t.Errorf("runs %+v, want none recorded", runs)
			}
		})
	}
}

// TestFlowSavedPlanStateMoved: a saved plan of another serial is refused.
func TestFlowSavedPlanStateMoved(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	f := w.flow(converge.Limits{MaxNewGroups: 2})
	p, err := f.Plan(ctx, w.m, true)
	if err != nil {
		t.Fatal(err)
	}
	p.StateSerial++
	if rep := f.Run(ctx, w.m, p); !errors.Is(rep.Err, converge.ErrStateMoved) {
		t.Fatalf("error %v, want ErrStateMoved", rep.Err)
	}
	if n := creates(w.sim); n != 0 {
		t.Errorf("creates %d, want none", n)
	}
}

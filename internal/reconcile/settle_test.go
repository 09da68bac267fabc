package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// impatientClients are the world's clients with a short HTTP timeout, so
// that a create the vendor holds on to times out: its outcome is unknown.
func (w *world) impatientClients(m *spec.Manifest, timeout time.Duration) map[string]vendors.Client {
	w.t.Helper()
	out := map[string]vendors.Client{}
	for name, p := range m.Providers {
		tok, err := p.ResolveToken(func(k string) (string, bool) { v, ok := w.env[k]; return v, ok })
		must(w.t, err)
		tr := &vendors.Transport{
			BaseURL:     p.Endpoint,
			HTTP:        vendors.NewHTTPClient(timeout),
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

// planAt makes the plan the way the commands do, with the clock at now.
func (w *world) planAt(m *spec.Manifest, clients map[string]vendors.Client, settle time.Duration, now time.Time) *reconcile.Plan {
	w.t.Helper()
	p, err := reconcile.MakePlan(context.Background(), m, w.store, reconcile.PlanOptions{
		Clients: clients, Caps: capsOf(clients, m), Parallelism: 2, Refresh: true, Settle: settle,
		Now: func() time.Time { return now },
	})
	must(w.t, err)
	return p
}

func (w *world) openCreate(key string) state.Intent {
	w.t.Helper()
	in, err := w.store.OpenIntents(context.Background())
	must(w.t, err)
	for _, i := range in {
		if i.Key == key && i.Kind == state.IntentCreate {
			return i
		}
	}
	w.t.Fatalf("%s has no open create intent (open: %+v)", key, in)
	return state.Intent{}
}

// TestLateLandingCreateSettles replays report 1 of issue 11: a Lunkr
// create the vendor carries out late, after the client timed out; an apply
// right away must not conclude "made no group" (which created a second
// group) but wait for the create to settle, then find the group and bind it.
func TestLateLandingCreateSettles(t *testing.T) {
	const settle = time.Minute
	w := newWorld(t)
	m := w.manifest(`  - key: dev
    provider: coremail
    name: 研发讨论
    members: [alice, bob]
`)
	w.lk.LandLate(lunkr.CallCreate, 1500*time.Millisecond, 1)
	clients := w.impatientClients(m, 300*time.Millisecond)
	a := &reconcile.Applier{Clients: clients, Journal: w.store, Parallelism: 2}
	res := a.Apply(context.Background(), w.planAt(m, clients, settle, time.Now()))
	if r := res.Groups[0]; !r.Unknown || r.Created {
		t.Fatalf("apply = %+v, want a create of unknown outcome (timed out)", r)
	}
	intent := w.openCreate("dev")
	if !intent.AttemptedAt.After(intent.StartedAt) {
		t.Errorf("the timed-out attempt was not recorded: started %v, attempted %v", intent.StartedAt, intent.AttemptedAt)
	}

	// The report: with nothing to wait for, finding no group right away is
	// taken as proof, and the create is sent again.
	if gp := groupByKey(t, w.planAt(m, clients, 0, time.Now()), "dev"); gp.Bind == nil || gp.Bind.Kind != reconcile.BindRetry {
		t.Fatalf("without settling: bind %+v errors %+v, want the retry that made the duplicate", gp.Bind, gp.Errors)
	}

	// With --settle: blocked, nothing sent.
	p := w.planAt(m, clients, settle, time.Now())
	gp := groupByKey(t, p, "dev")
	until := intent.LastAttempt().Add(settle).Local().Format(time.TimeOnly)
	want := "a create of unknown outcome is settling until " + until
	if gp.Create != nil || gp.Bind != nil || len(gp.Errors) != 1 || gp.Errors[0].Kind != reconcile.IssueSettling || gp.Errors[0].Message != want {
		t.Fatalf("while settling: create %+v bind %+v errors %+v, want blocked with %q", gp.Create, gp.Bind, gp.Errors, want)
	}
	if res := a.Apply(context.Background(), p); res.Created != 0 || res.Bound != 0 {
		t.Errorf("apply while settling = %+v, want nothing done", res)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, w.lk.WaitLanded(ctx))

	// Found during the settle: bound as any recovered create.
	if gp := groupByKey(t, w.planAt(m, clients, settle, time.Now()), "dev"); gp.Bind == nil || gp.Bind.Kind != reconcile.BindRecover {
		t.Fatalf("landed, still settling: bind %+v errors %+v, want recovered", gp.Bind, gp.Errors)
	}
	// And after the settle time.
	p = w.planAt(m, clients, settle, intent.LastAttempt().Add(settle+time.Second))
	gp = groupByKey(t, p, "dev")
	if gp.Bind == nil || gp.Bind.Kind != reconcile.BindRecover || gp.Create != nil {
		t.Fatalf("settled: bind %+v create %+v errors %+v, want recovered", gp.Bind, gp.Create, gp.Errors)
	}
	a.Apply(context.Background(), p)
	var named []string
	for _, g := range w.lk.Groups() {
		if g.Name == "研发讨论" {
			named = append(named, g.ID)
		}
	}
	if len(named) != 1 || w.mustBinding("dev") != named[0] {
		t.Fatalf("vendor has %v named 研发讨论, dev is bound to %s; want one, bound", named, w.mustBinding("dev"))
	}
	if n := w.calls()[lunkr.CallCreate]; n != 1 {
		t.Errorf("groups/create reached the vendor %d times, want 1", n)
	}
}

// TestLateLandingCreateOnYunzhijia: Yunzhijia cannot list groups, so an
// unknown create is always left to a person; while it settles, the person
// is told to wait (the group may still appear), and after, to look.
func TestLateLandingCreateOnYunzhijia(t *testing.T) {
	const settle = time.Minute
	w := newWorld(t)
	m := w.manifest(`  - key: eng
    provider: kingdee
    name: 研发部
    owner: alice
    members: [bob]
`)
	w.yzj.LandLate(yunzhijia.CallCreateGroup, time.Second, 1)
	clients := w.impatientClients(m, 200*time.Millisecond)
	a := &reconcile.Applier{Clients: clients, Journal: w.store, Parallelism: 2}
	if r := a.Apply(context.Background(), w.planAt(m, clients, settle, time.Now())).Groups[0]; !r.Unknown {
		t.Fatalf("apply = %+v, want a create of unknown outcome", r)
	}
	intent := w.openCreate("eng")
	tests := []struct {
		name string
		now  time.Time
		kind reconcile.IssueKind
		msg  string
	}{
		{"settling: wait", time.Now(), reconcile.IssueSettling, "a create of unknown outcome is settling until "},
		{"settled: a person looks", intent.LastAttempt().Add(settle), reconcile.IssueUnknownCreate, "create sent at "},
	}
	for _, tt := range tests {
		gp := groupByKey(t, w.planAt(m, clients, settle, tt.now), "eng")
		if gp.Create != nil || gp.Bind != nil || len(gp.Errors) != 1 || gp.Errors[0].Kind != tt.kind || !strings.HasPrefix(gp.Errors[0].Message, tt.msg) {
			t.Errorf("%s: create %+v bind %+v errors %+v, want blocked with %s", tt.name, gp.Create, gp.Bind, gp.Errors, tt.kind)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, w.yzj.WaitLanded(ctx))
	if n := len(w.yzj.Groups()); n != 1 {
		t.Errorf("vendor has %d groups, want the one that landed late", n)
	}
}

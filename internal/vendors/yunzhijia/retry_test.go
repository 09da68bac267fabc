package yunzhijia

import (
	"context"
	"errors"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

// clearFaultsAfter makes the n-th wait of the transport clear the
// simulator's faults, so that the next attempt succeeds.
func (e *env) clearFaultsAfter(n int) {
	e.OnSleep = func(i int) {
		if i == n {
			e.sim.SetFaults(Faults{})
		}
	}
}

func TestAddMembersRetriedAfterLostAnswer(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	e.sim.SetFaults(Faults{LoseAnswerRate: 1, Calls: []string{CallAddGroupUser}})
	e.clearFaultsAfter(1)
	if err := e.c.AddMembers(context.Background(), gid, alice, []string{bob}); err != nil {
		t.Fatal(err)
	}
	g, _ := e.sim.Group(gid)
	if n := e.sim.Calls()[CallAddGroupUser]; n != 2 || len(g.Members) != 2 {
		t.Fatalf("attempts %d, members %v; want 2 attempts and bob added once", n, memberIDs(g))
	}
}

// writes are the calls that must not be repeated once they may have been
// applied.
func writes(e *env) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		CallCreateGroup: func() error {
			_, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice, Members: []string{bob}})
			return err
		},
		CallNotice: func() error {
			_, err := e.c.PostNotice(ctx, gid, alice, vendors.Notice{Title: "t", Content: "c"})
			return err
		},
		CallBanner: func() error {
			_, err := e.c.PostBanner(ctx, gid, alice, vendors.Banner{Title: "t"})
			return err
		},
	}
}

// applied counts what the writes left in the world.
func applied(e *env) int {
	return len(e.sim.Groups()) - 1 + len(e.sim.Notices(gid)) + len(e.sim.Banners(gid))
}

func TestWriteNotRetriedAfterAnswerLost(t *testing.T) {
	faults := map[string]func(e *env, call string){
		"LoseAnswerRate":     func(e *env, call string) { e.sim.SetFaults(Faults{LoseAnswerRate: 1, Calls: []string{call}}) },
		"DropRate":           func(e *env, call string) { e.sim.SetFaults(Faults{DropRate: 1, Calls: []string{call}}) },
		"FailNextAfterApply": func(e *env, call string) { e.sim.FailNextAfterApply(call, 1) },
		"Timeout": func(e *env, call string) {
			e.sim.SetFaults(Faults{Latency: time.Second, Calls: []string{call}})
			e.tr.HTTP.Timeout = 50 * time.Millisecond
		},
	}
	for fname, fault := range faults {
		for call := range writes(newEnv(t)) {
			t.Run(fname+"/"+call, func(t *testing.T) {
				e := newEnv(t)
				e.seed(gid, alice)
				fault(e, call)
				err := writes(e)[call]()
				if !errors.Is(err, vendors.ErrUnknownOutcome) {
					t.Fatalf("error %v, want ErrUnknownOutcome", err)
				}
				if n := e.sim.Calls()[call]; n != 1 {
					t.Fatalf("%d calls, want exactly 1", n)
				}
				if fname != "Timeout" && applied(e) != 1 {
					t.Fatalf("the simulator applied %d writes, want 1", applied(e))
				}
			})
		}
	}
}

func TestWriteRetriedWhenNotApplied(t *testing.T) {
	faults := map[string]Faults{
		"503": {Status503Rate: 1},
		"429": {Status429Rate: 1},
	}
	for fname, f := range faults {
		for call := range writes(newEnv(t)) {
			t.Run(fname+"/"+call, func(t *testing.T) {
				e := newEnv(t)
				e.seed(gid, alice)
				f.Calls = []string{call}
				e.sim.SetFaults(f)
				e.clearFaultsAfter(2)
				if err := writes(e)[call](); err != nil {
					t.Fatal(err)
				}
				if n := e.sim.Calls()[call]; n != 3 {
					t.Fatalf("%d calls, want 3", n)
				}
				if applied(e) != 1 {
					t.Fatalf("the simulator applied %d writes, want 1", applied(e))
				}
			})
		}
	}
}

func TestUnreadableAnswer(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	// A 200 answer that is not an envelope: a read is retried, a write's
	// outcome is unknown.
	srv := newRawServer(t, 200, "<html>gateway error</html>")
	e.tr.BaseURL = srv.URL + "/"
	if _, err := e.c.ReadGroup(context.Background(), gid, alice); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("read: error %v, want ErrTransient", err)
	}
	if got := srv.hits(); got != e.tr.MaxAttempts {
		t.Fatalf("read: %d attempts, want %d", got, e.tr.MaxAttempts)
	}
	if _, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice}); !errors.Is(err, vendors.ErrUnknownOutcome) {
		t.Fatalf("create: error %v, want ErrUnknownOutcome", err)
	}
	if got := srv.hits(); got != e.tr.MaxAttempts+1 {
		t.Fatalf("create: %d attempts, want 1", got-e.tr.MaxAttempts)
	}
}

func TestSuccessWithoutIDIsUnknownOutcome(t *testing.T) {
	srv := newRawServer(t, 200, `{"success":true,"data":{"groupName":"x"},"error":null,"errorCode":0}`)
	c := New(newTransport(srv.URL+"/", vendors.StaticToken("kingdee", tok), nil))
	_, err := c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice})
	if !errors.Is(err, vendors.ErrUnknownOutcome) {
		t.Fatalf("error %v, want ErrUnknownOutcome", err)
	}
}

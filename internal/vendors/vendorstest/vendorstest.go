// Package vendorstest is the contract every vendor client keeps, tested
// over real HTTP against the vendor's own simulator: reads, creates and
// adds, typed errors, retries on 429 and 503, an unknown outcome (never a
// second send) when a write's answer is lost, a rate limit, the access
// token in no error whatever its encoding, and a token the vendor refused
// fetched again once. A vendor package's test calls Run with its
// descriptor and a few ids its simulator accepts; its own tests keep only
// what is particular to its wire format.
package vendorstest

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/simfault"
)

// Contract is what Run needs of a vendor beyond its descriptor.
type Contract struct {
	Vendor *vendors.Vendor
	// Operator is the user writes act as (Yunzhijia's currentUid); "" when
	// the vendor has none.
	Operator string
	// Members are at least three user ids the simulator accepts as members.
	Members []string
	// GroupID is a valid group id for a seeded group, and Missing one no
	// group has.
	GroupID, Missing string
	// Calls are the wire names of the read, create and add calls (Add ""
	// when the vendor cannot add members).
	Read, Create, Add string
}

// Sim is what the contract drives of a simulator: the registry's view of
// it and the fault knobs every simulator shares.
type Sim interface {
	vendors.Simulator
	SetFaults(simfault.Faults)
	FailNextAfterApply(call string, n int)
	EchoTokenNext(call, encoding string, n int)
	RevokeTokens()
	Group(id string) (vendors.Group, bool)
	Groups() []vendors.Group
}

// token is the simulators' access token: distinctive, and with characters
// a URL and JSON escape, so that redaction is tested in every encoding.
const token = "TOK-c0ntract/+=Zq9x"

// env is a client talking over real HTTP to a fresh simulator, with the
// transport's waits recorded instead of slept.
type env struct {
	c   Contract
	sim Sim
	srv *httptest.Server
	tr  *vendors.Transport
	cl  vendors.Client
	Sleeper
}

// Sleeper is a transport's Sleep that records the waits instead of
// sleeping, so that retries are tested without taking their time.
type Sleeper struct {
	mu      sync.Mutex
	waits   []time.Duration
	OnSleep func(n int) // called after the n-th wait (1-based); set before use
}

// Sleep records d and returns ctx's error.
func (s *Sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n, f := len(s.waits), s.OnSleep
	s.mu.Unlock()
	if f != nil {
		f(n)
	}
	return ctx.Err()
}

// Waits returns the waits recorded so far.
func (s *Sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

func newEnv(t *testing.T, c Contract, ts *vendors.TokenSource) *env {
	t.Helper()
	sim, ok := c.Vendor.Sim.New(token).(Sim)
	if !ok {
		t.Fatalf("%s: the simulator lacks the shared fault knobs (vendorstest.Sim)", c.Vendor.Name)
	}
	e := &env{c: c, sim: sim}
	e.srv = httptest.NewServer(sim)
	t.Cleanup(e.srv.Close)
	if ts == nil {
		ts = vendors.StaticToken("contract", token)
	}
	e.tr = &vendors.Transport{
		BaseURL:     e.srv.URL + "/",
		HTTP:        vendors.NewHTTPClient(5 * time.Second),
		Token:       ts,
		MaxAttempts: 4,
		BackoffBase: 10 * time.Millisecond,
		Sleep:       e.Sleep,
	}
	e.cl = c.Vendor.New(e.tr)
	return e
}

// clearFaultsAfter makes the n-th wait clear the simulator's faults, so
// that the next attempt succeeds.
func (e *env) clearFaultsAfter(n int) {
	e.OnSleep = func(i int) {
		if i == n {
			e.sim.SetFaults(simfault.Faults{})
		}
	}
}

// seed makes the contract's group with its first member (and the operator).
func (e *env) seed() {
	g := vendors.Group{ID: e.c.GroupID, Name: "contract", Members: []vendors.LiveMember{{ID: e.c.Members[0]}}}
	if e.c.Operator != "" {
		g.Managers = []string{e.c.Operator}
		g.Members = append(g.Members, vendors.LiveMember{ID: e.c.Operator})
	}
	e.sim.SeedGroup(g)
}

func (e *env) read(ctx context.Context) (*vendors.Group, error) {
	return e.cl.ReadGroup(ctx, e.c.GroupID, e.c.Operator)
}

func (e *env) calls(call string) int { return e.sim.Calls()[call] }

func (e *env) totalCalls() int {
	n := 0
	for _, c := range e.sim.Calls() {
		n += c
	}
	return n
}

func (e *env) createRequest() vendors.CreateRequest {
	return vendors.CreateRequest{Operator: e.c.Operator, Name: "contract-new", Members: e.c.Members[:2]}
}

// wantKind fails unless err is a *vendors.Error of kind.
func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	var ve *vendors.Error
	switch {
	case !errors.Is(err, kind):
		t.Errorf("%s: error %v, want %v", what, err, kind)
	case !errors.As(err, &ve):
		t.Errorf("%s: %T is not a *vendors.Error", what, err)
	}
}

// hasMember reports whether g has id as a member.
func hasMember(g vendors.Group, id string) bool {
	return slices.ContainsFunc(g.Members, func(m vendors.LiveMember) bool {
		return m.ID == id || strings.EqualFold(m.Email, id)
	})
}

// Run runs the contract against c's vendor.
func Run(t *testing.T, c Contract) {
	if len(c.Members) < 3 || c.Vendor == nil {
		t.Fatal("vendorstest: a contract needs the vendor and three members")
	}
	ctx := context.Background()
	caps := c.Vendor.Capabilities

	t.Run("capabilities", func(t *testing.T) {
		e := newEnv(t, c, nil)
		if e.cl.Capabilities() != caps {
			t.Errorf("client capabilities %+v, descriptor's %+v", e.cl.Capabilities(), caps)
		}
	})

	t.Run("read", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		g, err := e.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if g.ID != c.GroupID || !hasMember(*g, c.Members[0]) {
			t.Errorf("read %+v, want group %s with %s", g, c.GroupID, c.Members[0])
		}
		if n := e.calls(c.Read); n != 1 {
			t.Errorf("%s calls %d, want 1", c.Read, n)
		}
	})

	t.Run("read missing is ErrNotFound", func(t *testing.T) {
		e := newEnv(t, c, nil)
		_, err := e.cl.ReadGroup(ctx, c.Missing, c.Operator)
		wantKind(t, "read of a missing group", err, vendors.ErrNotFound)
	})

	t.Run("create", func(t *testing.T) {
		e := newEnv(t, c, nil)
		id, err := e.cl.CreateGroup(ctx, e.createRequest())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Vendor.IDs.NormalizeGroup(id); !ok {
			t.Errorf("created id %q is not a %s group id", id, c.Vendor.Name)
		}
		g, ok := e.sim.Group(id)
		if !ok || !hasMember(g, c.Members[0]) || !hasMember(g, c.Members[1]) {
			t.Errorf("created group %+v (found %v), want members %v", g, ok, c.Members[:2])
		}
		if n := e.calls(c.Create); n != 1 {
			t.Errorf("%s calls %d, want 1", c.Create, n)
		}
	})

	t.Run("add", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		err := e.cl.AddMembers(ctx, c.GroupID, c.Operator, []string{c.Members[2]})
		if !caps.AddMembers {
			wantKind(t, "add on a vendor that cannot", err, vendors.ErrUnsupported)
			if n := e.totalCalls(); n != 0 {
				t.Errorf("an unsupported add made %d calls", n)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := e.sim.Group(c.GroupID); !hasMember(g, c.Members[2]) {
			t.Errorf("group after add %+v, want %s in it", g, c.Members[2])
		}
		if n := e.calls(c.Add); n != 1 {
			t.Errorf("%s calls %d, want 1", c.Add, n)
		}
	})

	if caps.AddMembers {
		t.Run("add retried after a lost answer (idempotent)", func(t *testing.T) {
			e := newEnv(t, c, nil)
			e.seed()
			e.sim.FailNextAfterApply(c.Add, 1)
			if err := e.cl.AddMembers(ctx, c.GroupID, c.Operator, []string{c.Members[2]}); err != nil {
				t.Fatal(err)
			}
			g, _ := e.sim.Group(c.GroupID)
			if n := e.calls(c.Add); n != 2 || !hasMember(g, c.Members[2]) {
				t.Errorf("%s sent %d times, group %+v; want 2 and %s in it once", c.Add, n, g, c.Members[2])
			}
		})
	}

	t.Run("unsupported calls make no request", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		var errs []error
		if !caps.RemoveMembers {
			errs = append(errs, e.cl.RemoveMembers(ctx, c.GroupID, c.Operator, []string{c.Members[0]}))
		}
		if !caps.GroupInfo {
			_, err := e.cl.ReadGroupInfo(ctx, c.GroupID, c.Operator)
			errs = append(errs, err)
		}
		if !caps.Notices {
			_, err := e.cl.PostNotice(ctx, c.GroupID, c.Operator, vendors.Notice{Title: "t", Content: "c"})
			errs = append(errs, err)
		}
		if !caps.Banners {
			_, err := e.cl.PostBanner(ctx, c.GroupID, c.Operator, vendors.Banner{Content: "c"})
			errs = append(errs, err)
		}
		if !caps.ListGroups {
			_, err := e.cl.ListGroups(ctx, c.Members[0])
			errs = append(errs, err)
		}
		for _, err := range errs {
			wantKind(t, "unsupported call", err, vendors.ErrUnsupported)
		}
		if n := e.totalCalls(); n != 0 {
			t.Errorf("unsupported calls made %d requests", n)
		}
	})

	t.Run("refused token is ErrUnauthorized", func(t *testing.T) {
		e := newEnv(t, c, vendors.StaticToken("contract", "not-"+token))
		e.seed()
		_, err := e.read(ctx)
		wantKind(t, "read with a wrong token", err, vendors.ErrUnauthorized)
	})

	t.Run("read retried on 503 honouring Retry-After", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		e.sim.SetFaults(simfault.Faults{Status503Rate: 1, Calls: []string{c.Read}})
		e.clearFaultsAfter(2)
		if _, err := e.read(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.calls(c.Read); n != 3 {
			t.Errorf("attempts %d, want 3", n)
		}
		if w := e.Waits(); !slices.Equal(w, []time.Duration{time.Second, time.Second}) {
			t.Errorf("waits %v, want Retry-After: 1 twice", w)
		}
	})

	t.Run("read retried on 429 honouring Retry-After 0", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		e.sim.SetFaults(simfault.Faults{Status429Rate: 1, Calls: []string{c.Read}})
		e.clearFaultsAfter(1)
		if _, err := e.read(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.calls(c.Read); n != 2 {
			t.Errorf("attempts %d, want 2", n)
		}
		if w := e.Waits(); !slices.Equal(w, []time.Duration{0}) {
			t.Errorf("waits %v, want Retry-After: 0 once", w)
		}
	})

	for _, tc := range []struct {
		name   string
		faults simfault.Faults
		kind   error
	}{
		{"read refused with 503 every time is ErrTransient", simfault.Faults{Status503Rate: 1, Calls: []string{c.Read}}, vendors.ErrTransient},
		{"read refused with 429 every time is ErrRateLimited", simfault.Faults{Status429Rate: 1, Calls: []string{c.Read}}, vendors.ErrRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, c, nil)
			e.seed()
			e.sim.SetFaults(tc.faults)
			_, err := e.read(ctx)
			wantKind(t, tc.name, err, tc.kind)
			if n := e.calls(c.Read); n != e.tr.MaxAttempts {
				t.Errorf("attempts %d, want %d", n, e.tr.MaxAttempts)
			}
		})
	}

	t.Run("rate limit", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		e.sim.SetFaults(simfault.Faults{RateLimit: 0.01}) // one call, then none for 100s
		if _, err := e.read(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := e.read(ctx)
		wantKind(t, "read over the rate limit", err, vendors.ErrRateLimited)
		if n := e.calls(c.Read); n != 1+e.tr.MaxAttempts {
			t.Errorf("attempts %d, want %d", n, 1+e.tr.MaxAttempts)
		}
	})

	lost := map[string]func(e *env){
		"500 after it was made": func(e *env) { e.sim.FailNextAfterApply(c.Create, 1) },
		"answer lost":           func(e *env) { e.sim.SetFaults(simfault.Faults{LoseAnswerRate: 1, Calls: []string{c.Create}}) },
		"connection dropped":    func(e *env) { e.sim.SetFaults(simfault.Faults{DropRate: 1, Calls: []string{c.Create}}) },
	}
	for name, fault := range lost {
		t.Run("create "+name+" is an unknown outcome, sent once", func(t *testing.T) {
			e := newEnv(t, c, nil)
			fault(e)
			_, err := e.cl.CreateGroup(ctx, e.createRequest())
			wantKind(t, "create "+name, err, vendors.ErrUnknownOutcome)
			if n := e.calls(c.Create); n != 1 {
				t.Errorf("%s sent %d times, want once", c.Create, n)
			}
			if n := len(e.sim.Groups()); n != 1 {
				t.Errorf("groups %d, want the one made before the answer was lost", n)
			}
		})
	}

	for _, f := range []simfault.Faults{{Status503Rate: 1}, {Status429Rate: 1}} {
		name := "503"
		if f.Status429Rate > 0 {
			name = "429"
		}
		t.Run("create refused with "+name+" before it was made is retried", func(t *testing.T) {
			e := newEnv(t, c, nil)
			f.Calls = []string{c.Create}
			e.sim.SetFaults(f)
			e.clearFaultsAfter(2)
			id, err := e.cl.CreateGroup(ctx, e.createRequest())
			if err != nil {
				t.Fatal(err)
			}
			if n := e.calls(c.Create); n != 3 {
				t.Errorf("%s sent %d times, want 3 (two refused, not made)", c.Create, n)
			}
			if gs := e.sim.Groups(); len(gs) != 1 || gs[0].ID != id {
				t.Errorf("groups %+v, want the one made", gs)
			}
		})
	}

	t.Run("read retried on 500 with backoff", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		e.tr.BackoffBase = 100 * time.Millisecond
		e.sim.FailNextAfterApply(c.Read, 2)
		if _, err := e.read(ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.calls(c.Read); n != 3 {
			t.Errorf("attempts %d, want 3", n)
		}
		// Exponential with jitter: [d/2, d] for d = 100ms, 200ms.
		w := e.Waits()
		if len(w) != 2 || w[0] < 50*time.Millisecond || w[0] > 100*time.Millisecond || w[1] < 100*time.Millisecond || w[1] > 200*time.Millisecond {
			t.Errorf("waits %v, want exponential backoff from 100ms", w)
		}
	})

	t.Run("token in no error", func(t *testing.T) {
		e := newEnv(t, c, nil)
		e.seed()
		e.tr.MaxAttempts = 1
		check := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Errorf("%s: no error", what)
				return
			}
			for _, enc := range simfault.TokenEncodings {
				if form := simfault.EncodeToken(token, enc); strings.Contains(err.Error(), form) {
					t.Errorf("%s: error carries the token (%s): %s", what, enc, err)
				}
			}
			if strings.Contains(err.Error(), url.QueryEscape(token)) {
				t.Errorf("%s: error carries the token: %s", what, err)
			}
		}
		for _, enc := range simfault.TokenEncodings {
			e.sim.EchoTokenNext(c.Read, enc, 1)
			_, err := e.read(ctx)
			check("read echoing the token "+enc, err)
			e.sim.EchoTokenNext(c.Create, enc, 1)
			_, err = e.cl.CreateGroup(ctx, e.createRequest())
			check("create echoing the token "+enc, err)
		}
		_, err := e.cl.ReadGroup(ctx, c.Missing, c.Operator)
		check("not found", err)
		e.sim.FailNextAfterApply(c.Create, 1)
		_, err = e.cl.CreateGroup(ctx, e.createRequest())
		check("unknown outcome", err)
		e.sim.SetFaults(simfault.Faults{Status503Rate: 1})
		_, err = e.read(ctx)
		check("transient", err)
		e.sim.SetFaults(simfault.Faults{})
		bad := newEnv(t, c, vendors.StaticToken("contract", token+"x"))
		bad.seed()
		_, err = bad.read(ctx)
		check("unauthorized", err)
		closed := newEnv(t, c, nil)
		closed.srv.Close()
		closed.tr.MaxAttempts = 1
		_, err = closed.read(ctx)
		check("unreachable", err)
	})

	if c.Vendor.Auth != nil {
		t.Run("refused token fetched again once", func(t *testing.T) {
			sim, ok := c.Vendor.Sim.New(token).(Sim)
			if !ok {
				t.Fatal("the simulator lacks the shared knobs")
			}
			creds := vendors.Credentials{}
			for _, f := range c.Vendor.Auth.Fields {
				creds[f.Name] = "contract-" + f.Name
			}
			sim.RegisterApp(creds, time.Hour)
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			// Count the fetches as they leave the client.
			auth := *c.Vendor.Auth
			var fetches int
			var mu sync.Mutex
			auth.Fetch = func(ctx context.Context, r vendors.FetchRequest) (vendors.Grant, error) {
				mu.Lock()
				fetches++
				mu.Unlock()
				return c.Vendor.Auth.Fetch(ctx, r)
			}
			fetched := func() int {
				mu.Lock()
				defer mu.Unlock()
				return fetches
			}
			ts := vendors.AuthToken("contract", auth, srv.URL+"/", creds)
			ts.HTTP = vendors.NewHTTPClient(5 * time.Second)
			e := newEnv(t, c, ts)
			// The env's own simulator is not the one with the app: point the
			// client at the one that is.
			e.sim, e.srv = sim, srv
			e.tr.BaseURL = srv.URL + "/"
			e.cl = c.Vendor.New(e.tr)
			e.seed()
			if _, err := e.read(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := e.read(ctx); err != nil {
				t.Fatal(err)
			}
			if n := fetched(); n != 1 {
				t.Fatalf("token fetches for two reads: %d, want 1", n)
			}
			sim.RevokeTokens()
			if _, err := e.read(ctx); err != nil {
				t.Fatalf("read after the token was revoked: %v", err)
			}
			if n := fetched(); n != 2 {
				t.Errorf("token fetches after one refusal: %d, want 2 (one fetch again)", n)
			}
			// A write refused for its token was not made: it is sent again
			// with the new token, once.
			sim.RevokeTokens()
			if _, err := e.cl.CreateGroup(ctx, e.createRequest()); err != nil {
				t.Fatalf("create after the token was revoked: %v", err)
			}
			if n, groups := fetched(), len(sim.Groups()); n != 3 || groups != 2 || e.calls(c.Create) != 2 {
				t.Errorf("fetches %d, groups %d, %s sent %d times; want 3, the seeded one and one made, 2 (one refused)", n, groups, c.Create, e.calls(c.Create))
			}
		})
	}
}

package scale

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"groupsync/internal/converge"
	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// token is the access token the simulators accept.
const token = "scale-token"

// callTimeout bounds one vendor request, as the CLI does.
const callTimeout = 30 * time.Second

// World is a scenario made real: the manifest, the two vendor simulators
// in a separate process (see SimMain) seeded with the existing groups,
// clients that reach them over HTTP, and a state file bound to the existing
// groups.
type World struct {
	Scenario Scenario
	Manifest *spec.Manifest
	Clients  map[string]vendors.Client // by provider name
	Store    *state.Store

	sims   *simProcess
	simRSS int64 // the simulator process's peak RSS at the last Calls
	err    error // the first failure to reach the simulator process's control
}

// NewWorld builds the scenario's world, with its state file in dir. The
// simulators add no latency until Start.
func NewWorld(ctx context.Context, dir string, sc Scenario) (*World, error) {
	return NewWorldAt(ctx, dir, sc, filepath.Join(dir, "groupsync.db"))
}

// NewWorldAt is NewWorld with the state at loc: a file, or a postgres://
// URL of an empty schema.
func NewWorldAt(ctx context.Context, dir string, sc Scenario, loc string) (*World, error) {
	sims, err := startSims(sc)
	if err != nil {
		return nil, err
	}
	w := &World{Scenario: sc, sims: sims}
	w.Manifest = sc.Manifest(sims.yzjURL, sims.lunkrURL, sims.wecomURL)
	w.Clients = clients(w.Manifest, sc.Rate)
	store, err := state.Open(loc)
	if err != nil {
		w.Close()
		return nil, err
	}
	w.Store = store
	if err := w.seed(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// clients builds a client per provider over one shared HTTP client, with
// one rate limiter shared by every provider so that rate is the total.
func clients(m *spec.Manifest, rps float64) map[string]vendors.Client {
	httpc := vendors.NewHTTPClient(callTimeout)
	var limiter *rate.Limiter
	if rps > 0 {
		limiter = rate.NewLimiter(rate.Limit(rps), 1)
	}
	out := map[string]vendors.Client{}
	for name, p := range m.Providers {
		t := &vendors.Transport{BaseURL: p.Endpoint, HTTP: httpc, Token: vendors.StaticToken(name, token), Limiter: limiter}
		if d, ok := vendors.Lookup(string(p.Vendor)); ok {
			out[name] = d.New(t)
		}
	}
	return out
}

// seed puts in the state what an earlier run would have left for the
// existing groups (the simulator process seeded the vendors' side): their
// bindings, their welcome notices recorded as posted, and their cached
// reads.
func (w *World) seed(ctx context.Context) error {
	sc := w.Scenario
	var mu sync.Mutex
	var errs []error
	reads := make([]state.Read, sc.Groups)
	each(sc.Groups, 32, func(i int) {
		if sc.missing(i) {
			return
		}
		g := w.Manifest.Groups[i]
		r, err := w.seedGroup(ctx, i, g)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		reads[i] = r
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	reads = slices.DeleteFunc(reads, func(r state.Read) bool { return r.Key == "" })
	return w.Store.SaveReads(ctx, reads)
}

// seedGroup seeds the state of group i and returns its read as the state
// caches it.
func (w *World) seedGroup(ctx context.Context, i int, g *spec.Group) (state.Read, error) {
	live := w.Scenario.liveGroup(i, g)
	id := live.ID
	read := state.Read{Key: g.Key, Provider: g.Provider, GroupID: id, Group: live}
	if err := w.Store.Bind(ctx, state.Binding{Key: g.Key, Provider: g.Provider, GroupID: id, Origin: state.OriginCreated}); err != nil {
		return read, err
	}
	if len(g.Notices) == 0 {
		return read, nil
	}
	n := reconcile.Notice{Title: g.Notices[0].Title, Content: g.Notices[0].Content}
	hash := reconcile.ContentHash(n)
	in, err := w.Store.BeginIntent(ctx, state.Intent{Key: g.Key, Provider: g.Provider, Kind: state.IntentNotice, Name: n.Title, Hash: hash, GroupID: id})
	if err != nil {
		return read, err
	}
	return read, w.Store.CompletePost(ctx, in, state.Post{VendorID: "seeded"})
}

// Start sets the simulators' latency and zeroes their call counts and
// their peak RSS. A failure to reach the simulator process is kept for Err.
func (w *World) Start(latency time.Duration) {
	if err := w.sims.start(latency); err != nil && w.err == nil {
		w.err = err
	}
}

// Calls returns the calls the simulators received since Start (zero, and
// the failure kept for Err, when the simulator process cannot be reached).
func (w *World) Calls() Calls {
	st, err := w.sims.status()
	if err != nil {
		if w.err == nil {
			w.err = err
		}
		return Calls{}
	}
	w.simRSS = st.PeakRSS
	return st.Calls
}

// Err is the first failure to reach the simulator process.
func (w *World) Err() error { return w.err }

// Plan makes a plan as `groupsync plan` does (the converge package's
// planner): each group planned as its live read arrives, the reads cached
// in batches (refresh), or the state's cached reads streamed with no
// network.
func (w *World) Plan(ctx context.Context, refresh bool) (*reconcile.Plan, error) {
	pl := converge.Planner{Store: w.Store, Clients: w.Clients, Parallelism: w.Scenario.Parallelism}
	return pl.Plan(ctx, w.Manifest, refresh)
}

// Apply executes p as `apply PLANFILE` does, through converge's flow (the
// state's serial checked, the run recorded, the cache brought up to date),
// with the scenario's parallelism and no safety limits: the harness measures
// what a user's apply costs. The result is nil when nothing was applied.
func (w *World) Apply(ctx context.Context, p *reconcile.Plan) (*reconcile.Result, error) {
	f := converge.Flow{
		Planner: converge.Planner{Store: w.Store, Clients: w.Clients, Parallelism: w.Scenario.Parallelism},
		Trigger: "apply",
		Limits:  converge.Limits{MaxNewGroups: math.MaxInt, MaxRemovals: math.MaxInt},
		What:    "the apply",
		Log:     slog.New(slog.DiscardHandler),
	}
	rep := f.Run(ctx, w.Manifest, p)
	if rep.Err != nil && !errors.Is(rep.Err, converge.ErrReported) {
		return rep.Result, rep.Err
	}
	return rep.Result, nil
}

// Close ends the simulator process and closes the state file.
func (w *World) Close() error {
	err := w.sims.close()
	if w.Store != nil {
		err = errors.Join(err, w.Store.Close())
	}
	return err
}

// each runs fn(0..n-1) on at most p goroutines.
func each(n, p int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(p, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

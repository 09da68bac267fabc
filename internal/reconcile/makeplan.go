package reconcile

import (
	"context"
	"fmt"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// Source is the part of the state a plan is made from. *state.Store
// implements it.
type Source interface {
	Bindings(ctx context.Context) (map[string]state.Binding, error)
	OpenIntents(ctx context.Context) ([]state.Intent, error)
	Posts(ctx context.Context) (map[string][]state.Post, error)
	Serial(ctx context.Context) (int64, error)
	Lineage(ctx context.Context) (string, error)
	// NewReadSaver caches live reads, size per transaction.
	NewReadSaver(ctx context.Context, size int) *state.ReadSaver
	// EachRead streams the cached reads.
	EachRead(ctx context.Context, fn func(state.Read) error) error
}

var _ Source = (*state.Store)(nil)

// PlanOptions say how MakePlan observes.
type PlanOptions struct {
	Clients     map[string]vendors.Client // by provider name; unused when Refresh is false
	Caps        map[spec.Vendor]vendors.Capabilities
	Parallelism int
	// Refresh reads every managed group live and caches the reads; false
	// plans from the cache alone, with no network.
	Refresh bool
	Now     func() time.Time // default time.Now
	// Settle: see Input.Settle. Zero concludes at once (tests only); the
	// commands default to two minutes.
	Settle time.Duration
}

// readBatch is how many live reads MakePlan caches per transaction.
const readBatch = 500

// MakePlan observes (live, or from the cache) and builds the plan group by
// group as the reads arrive, caching live reads in batches, so that no more
// than a few batches of reads are held at once. It is the one way `plan`,
// `apply`, `run` and the scale benchmark make a plan.
func MakePlan(ctx context.Context, m *spec.Manifest, src Source, o PlanOptions) (*Plan, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	bindings, err := src.Bindings(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: read bindings: %w", err)
	}
	intents, err := src.OpenIntents(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: read journal: %w", err)
	}
	posts, err := src.Posts(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: read posts: %w", err)
	}
	serial, err := src.Serial(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: read serial: %w", err)
	}
	lineage, err := src.Lineage(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	b := NewBuilder(Input{Manifest: m, Bindings: bindings, Posts: posts, Intents: intents,
		Caps: o.Caps, Refreshed: o.Refresh, Serial: serial, Lineage: lineage, Now: now(), Settle: o.Settle})
	add := func(g *spec.Group, obs Observation) { b.Add(g, obs, true) }
	if o.Refresh {
		saver := src.NewReadSaver(ctx, readBatch)
		ObserveEach(ctx, m, bindings, intents, o.Clients, o.Parallelism, now, func(g *spec.Group, obs Observation) {
			add(g, obs)
			if r, ok := ReadOf(g, obs); ok {
				saver.Add(r)
			}
		})
		err := saver.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("plan interrupted: %w", ctx.Err())
		}
		if err != nil {
			return nil, fmt.Errorf("plan: cache reads: %w", err)
		}
	} else {
		c := NewCacheMatcher(m, bindings)
		if err := src.EachRead(ctx, func(r state.Read) error { c.Add(r, add); return nil }); err != nil {
			return nil, fmt.Errorf("plan: read cache: %w", err)
		}
		c.Done(add)
	}
	return b.Plan(), nil
}

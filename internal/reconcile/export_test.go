package reconcile

// The whole-world forms of the streaming planner, for tests: the commands
// plan with MakePlan alone (see package converge).

import (
	"context"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// Build makes the plan: a pure function of the desired world, what was
// observed and the state.
func Build(in Input) *Plan {
	b := NewBuilder(in)
	for _, g := range in.Manifest.Groups {
		obs, ok := in.Observed[g.Key]
		b.Add(g, obs, ok)
	}
	return b.Plan()
}

// Observe reads every managed group once, in parallel, through the
// providers' clients (keyed by provider name), and searches for the group a
// lost create may have made where the vendor can list groups. It never
// writes. The reads it returns are meant to be cached with Reads.
func Observe(ctx context.Context, m *spec.Manifest, bindings map[string]state.Binding, intents []state.Intent, clients map[string]vendors.Client, parallelism int, now func() time.Time) map[string]Observation {
	out := make(map[string]Observation, len(m.Groups))
	ObserveEach(ctx, m, bindings, intents, clients, parallelism, now, func(g *spec.Group, obs Observation) {
		out[g.Key] = obs
	})
	return out
}

// FromCache turns the state's cached reads into observations, for
// `plan --refresh=false`: no network at all. A cached read of another group
// id than the one the key now refers to is ignored.
func FromCache(m *spec.Manifest, bindings map[string]state.Binding, reads map[string]state.Read) map[string]Observation {
	out := make(map[string]Observation, len(m.Groups))
	set := func(g *spec.Group, obs Observation) { out[g.Key] = obs }
	c := NewCacheMatcher(m, bindings)
	for _, r := range reads {
		c.Add(r, set)
	}
	c.Done(set)
	return out
}

// Reads returns the successful live reads of obs, to cache in the state.
func Reads(m *spec.Manifest, obs map[string]Observation) []state.Read {
	var out []state.Read
	for _, g := range m.Groups {
		if r, ok := ReadOf(g, obs[g.Key]); ok {
			out = append(out, r)
		}
	}
	return out
}

// Package export reads the groups a company already has on a vendor and
// writes them as a manifest (SPEC section 7.3), so that a team adopting
// groupsync starts from its live groups instead of typing them in.
//
// It only reads: the vendor calls it makes are the group list of a user
// (where the vendor has one), the group read and the group-info read, and it
// never writes the state. What it writes is a manifest that, planned with
// the manifests it was made from, has nothing to create, add, remove or post
// and no drift: only the bindings of the groups it pins.
//
// Which calls a vendor offers comes from its declared Capabilities, and
// which manifest fields a vendor's groups carry from the spec package: no
// vendor is named here.
package export

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// Reader is the part of a vendor client export uses: reads only, so that
// export cannot make a write call.
type Reader interface {
	Capabilities() vendors.Capabilities
	ReadGroup(ctx context.Context, groupID, operator string) (*vendors.Group, error)
	ReadGroupInfo(ctx context.Context, groupID, operator string) (*vendors.GroupInfo, error)
	ListGroups(ctx context.Context, userID string) ([]vendors.GroupRef, error)
}

// Options say what to export and from what.
type Options struct {
	// Manifest is the -f manifests: the provider, the people handles to
	// reuse, the keys and pinned groups already taken.
	Manifest *spec.Manifest
	Provider string // the provider to export (a name in Manifest.Providers)
	// Members are users whose groups are listed (vendors that list groups).
	Members []string
	// GroupIDs are groups to read.
	GroupIDs []string
	// FromState exports every group of the provider bound in Bindings.
	FromState bool
	// Bindings are the state's bindings; nil when there is no state.
	Bindings map[string]state.Binding
	// SkipManaged leaves out the groups the manifest already manages (pins,
	// or binds in the state under one of its keys).
	SkipManaged bool
	// WithProviders writes the provider's section (copied from its file)
	// and the people entries the export uses, so that the output stands
	// alone.
	WithProviders bool
	Parallelism   int // concurrent reads; at least 1
	// Now is the time the header says the export was made.
	Now time.Time
	// Progress, when set, is called after each group read with the count
	// done and the total, one call at a time.
	Progress func(done, total int)
}

// Failure is a group that could not be read, or a user whose groups could
// not be listed.
type Failure struct {
	What string // "group 10664" or "member alice@example.com"
	Err  error
}

func (f Failure) Error() string { return f.What + ": " + f.Err.Error() }

// Result is an export: the groups to write and what went wrong.
type Result struct {
	opts     Options
	provider *spec.Provider
	Groups   []Group  // in output order: by name, then id
	People   []Person // people entries to write, by handle
	Failures []Failure
	// Managed counts the exported groups the manifest already manages;
	// Skipped the ones left out for it (SkipManaged).
	Managed, Skipped int
}

// Group is one exported group.
type Group struct {
	Key         string
	GroupID     string
	Name        string
	Type        string
	Owner       string // a handle or a raw id; empty when the vendor has no owner
	Members     []string
	Subscribers []string
	Managed     bool // the manifest already manages it (by pin or binding)
}

// Person is a people entry the export writes: a new one for a member with
// an email, or (with WithProviders) one of the manifest's.
type Person struct {
	Handle string
	IDs    map[spec.Vendor]string
}

// ErrNothing is returned when the options name no group to export.
var ErrNothing = errors.New("nothing to export")

// Export discovers and reads the provider's groups through r and returns
// what to write. A group that cannot be read (or a member whose groups
// cannot be listed) is a Failure in the result, not an error: the rest is
// still exported. The error is for options that cannot work.
func Export(ctx context.Context, r Reader, o Options) (*Result, error) {
	p := o.Manifest.Providers[o.Provider]
	if p == nil {
		return nil, fmt.Errorf("unknown provider %q: the -f manifests define %s", o.Provider, providerNames(o.Manifest))
	}
	caps := r.Capabilities()
	switch {
	case len(o.Members) > 0 && !caps.ListGroups:
		return nil, fmt.Errorf("provider %s: %s cannot list the groups of a user: name its groups with --group-id or --from-state", p.Name, p.Vendor)
	case len(o.Members) == 0 && len(o.GroupIDs) == 0 && !o.FromState:
		hint := "--group-id ID or --from-state"
		if caps.ListGroups {
			hint = "--member ID (whose groups are listed), " + hint
		}
		return nil, fmt.Errorf("%w: name the groups of provider %s with %s", ErrNothing, p.Name, hint)
	}
	if o.Parallelism < 1 {
		o.Parallelism = 1
	}
	o.Members = dedupe(resolveHandles(o.Manifest, p.Vendor, o.Members))
	res := &Result{opts: o, provider: p}
	ids, failures := discover(ctx, r, o, p)
	res.Failures = failures
	lives := readAll(ctx, r, o, p, ids, &res.Failures)
	build(res, lives)
	slices.SortStableFunc(res.Failures, func(a, b Failure) int { return strings.Compare(a.What, b.What) })
	return res, nil
}

// resolveHandles turns the people handles among users into their ids on
// vendor v, so that --member alice works as it does in a manifest.
func resolveHandles(m *spec.Manifest, v spec.Vendor, users []string) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u
		if p, ok := m.People[u]; ok && p.IDs[v] != "" {
			out[i] = p.IDs[v]
		}
	}
	return out
}

// dedupe returns s without repeats, in order.
func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func providerNames(m *spec.Manifest) string {
	names := make([]string, 0, len(m.Providers))
	for n := range m.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// discover returns the ids of the groups to read, without duplicates, in
// the order found: the given ids, the state's, then the members' lists.
func discover(ctx context.Context, r Reader, o Options, p *spec.Provider) ([]string, []Failure) {
	var ids []string
	var failures []Failure
	seen := map[string]bool{}
	add := func(raw string) {
		id, ok := spec.GroupID(p.Vendor, strings.TrimSpace(raw))
		switch {
		case !ok:
			failures = append(failures, Failure{What: "group " + raw, Err: fmt.Errorf("not a %s group id", p.Vendor)})
		case !seen[id]:
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, id := range o.GroupIDs {
		add(id)
	}
	if o.FromState {
		var bound []string
		for _, b := range o.Bindings {
			if b.Provider == p.Name {
				bound = append(bound, b.GroupID)
			}
		}
		slices.Sort(bound)
		for _, id := range bound {
			add(id)
		}
	}
	lists := make([][]vendors.GroupRef, len(o.Members))
	errs := make([]error, len(o.Members))
	forEach(ctx, len(o.Members), o.Parallelism, func(i int) {
		lists[i], errs[i] = r.ListGroups(ctx, o.Members[i])
	})
	for i, m := range o.Members {
		switch {
		case errs[i] != nil:
			failures = append(failures, Failure{What: "member " + m, Err: fmt.Errorf("list its groups: %w", errs[i])})
		case lists[i] == nil && ctx.Err() != nil:
			failures = append(failures, Failure{What: "member " + m, Err: fmt.Errorf("list its groups: %w", ctx.Err())})
		}
		for _, ref := range lists[i] {
			add(ref.ID)
		}
	}
	return ids, failures
}

// live is one group as read.
type live struct {
	group    *vendors.Group
	operator string // the id the read acted as; empty where the vendor needs none
}

// readAll reads every group (and its info, where the read has no name and
// the vendor has a group-info read) on o.Parallelism goroutines. Failures
// are appended to failures in no particular order.
func readAll(ctx context.Context, r Reader, o Options, p *spec.Provider, ids []string, failures *[]Failure) []live {
	caps := r.Capabilities()
	ops := operators(o.Manifest, o.Bindings, p)
	out := make([]*live, len(ids))
	var (
		mu   sync.Mutex
		done int
	)
	fail := func(id string, err error) {
		mu.Lock()
		defer mu.Unlock()
		*failures = append(*failures, Failure{What: "group " + id, Err: err})
	}
	forEach(ctx, len(ids), o.Parallelism, func(i int) {
		id := ids[i]
		op := ops[id]
		if op == "" {
			op = p.Operator
		}
		defer func() {
			if o.Progress == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			done++
			o.Progress(done, len(ids))
		}()
		g, err := r.ReadGroup(ctx, id, op)
		if err != nil {
			fail(id, readError(p, op, err))
			return
		}
		if g.Name == "" && caps.GroupInfo {
			info, err := r.ReadGroupInfo(ctx, id, op)
			if err != nil {
				fail(id, readError(p, op, err))
				return
			}
			g.Name = info.Name
			if len(g.Managers) == 0 {
				g.Managers = info.Managers
			}
		}
		g.ID = id
		out[i] = &live{group: g, operator: op}
	})
	lives := make([]live, 0, len(ids))
	for i, l := range out {
		switch {
		case l != nil:
			lives = append(lives, *l)
		case ctx.Err() != nil && !slices.ContainsFunc(*failures, func(f Failure) bool { return f.What == "group "+ids[i] }):
			*failures = append(*failures, Failure{What: "group " + ids[i], Err: fmt.Errorf("not read: %w", ctx.Err())})
		}
	}
	return lives
}

// readError adds a hint to a read refused for want of an operator.
func readError(p *spec.Provider, op string, err error) error {
	if op == "" && errors.Is(err, vendors.ErrBadRequest) {
		return fmt.Errorf("%w\nhint: set operator: on provider %s: its reads act as that user", err, p.Name)
	}
	return err
}

// operators returns, by group id, the id a read of that group acts as: the
// owner of the manifest group that pins it or whose key is bound to it.
// Groups not in the manifest are read as the provider's operator.
func operators(m *spec.Manifest, bindings map[string]state.Binding, p *spec.Provider) map[string]string {
	out := map[string]string{}
	for _, g := range m.Groups {
		if g.Provider != p.Name || g.Owner == nil {
			continue
		}
		if g.GroupID != "" {
			out[g.GroupID] = g.Owner.ID
		} else if b, ok := bindings[g.Key]; ok && b.Provider == p.Name {
			out[b.GroupID] = g.Owner.ID
		}
	}
	return out
}

// forEach runs fn(0..n-1) on at most parallelism goroutines and stops
// handing out work once ctx is done.
func forEach(ctx context.Context, n, parallelism int, fn func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(parallelism, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}

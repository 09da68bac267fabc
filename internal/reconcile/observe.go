package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// recoverySkew is how far the vendor's clock may lag ours when deciding
// whether a group was created after a lost create was sent.
const recoverySkew = 5 * time.Minute

// ObserveEach reads every managed group once, in parallel, through the
// providers' clients (keyed by provider name), and searches for the group a
// lost create may have made where the vendor can list groups; it never
// writes. It hands each group's observation to fn as it arrives instead of
// keeping them all: fn is called once per observed group, one call at a
// time, in no particular order; groups with nothing to read are not passed. Strings repeated across
// reads share one copy.
func ObserveEach(ctx context.Context, m *spec.Manifest, bindings map[string]state.Binding, intents []state.Intent, clients map[string]vendors.Client, parallelism int, now func() time.Time, fn func(g *spec.Group, obs Observation)) {
	creates := map[string]state.Intent{}
	for _, in := range intents {
		if in.Kind == state.IntentCreate {
			creates[in.Key] = in
		}
	}
	bound := make(map[string]bool, len(bindings))
	for _, b := range bindings {
		bound[b.Provider+"\x00"+b.GroupID] = true
	}
	var mu sync.Mutex
	strs := vendors.Interner{} // guarded by mu
	forEach(ctx, len(m.Groups), parallelism, func(i int) {
		g := m.Groups[i]
		c := clients[g.Provider]
		if c == nil {
			// A provider left out (see BlockProviders) is not read.
			return
		}
		t := Resolve(g, bindings)
		var obs Observation
		switch intent, open := creates[g.Key]; {
		case t.GroupID != "":
			obs = readGroup(ctx, c, g, t.GroupID, fullRead(m, g, c), now)
		case open && intent.GroupID != "" && c.Capabilities().ChosenID:
			obs = readLostCreate(ctx, c, g, intent, now)
		case open && c.Capabilities().ListGroups:
			obs = searchLostCreate(ctx, c, g, intent, bound, now)
		default:
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if obs.Group != nil {
			strs.Group(obs.Group)
		}
		fn(g, obs)
	})
}

func operatorOf(g *spec.Group) string {
	if g.Owner != nil {
		return g.Owner.ID
	}
	return ""
}

// fullRead reports whether g's provider asks for read: full and its
// vendor has a group-info read.
func fullRead(m *spec.Manifest, g *spec.Group, c vendors.Client) bool {
	p := m.Providers[g.Provider]
	return p != nil && p.Read == spec.ReadFull && c != nil && c.Capabilities().GroupInfo
}

// readGroup reads g's members and, with full, its name and current notice
// too (a second read). Either read failing fails the observation: nothing
// is planned on half a read.
func readGroup(ctx context.Context, c vendors.Client, g *spec.Group, id string, full bool, now func() time.Time) Observation {
	live, err := c.ReadGroup(ctx, id, operatorOf(g))
	obs := Observation{GroupID: id, ReadAt: now().UTC()}
	if err != nil {
		// The observation is the group's: the plan shows it under its key.
		obs.Err = err
		return obs
	}
	if full {
		info, err := c.ReadGroupInfo(ctx, id, operatorOf(g))
		if err != nil {
			obs.Err = fmt.Errorf("group %s: %w", g.Key, err)
			return obs
		}
		live.Name, live.Info, live.Notice = info.Name, true, info.Notice
	}
	obs.Group = live
	return obs
}

// readLostCreate reads the group id a lost create chose (and journaled):
// found, it is the group; the vendor's "not found" means the create is to
// be sent again with the same id; any other failure settles nothing.
func readLostCreate(ctx context.Context, c vendors.Client, g *spec.Group, intent state.Intent, now func() time.Time) Observation {
	obs := readGroup(ctx, c, g, intent.GroupID, false, now)
	obs.Searched = true
	switch {
	case obs.Err == nil:
		obs.RecoveredID = intent.GroupID
	case errors.Is(obs.Err, vendors.ErrNotFound):
		obs.ChosenNotFound, obs.Err, obs.GroupID = true, nil, ""
	default:
		obs.RecoveryErr, obs.Err = fmt.Errorf("read of the chosen id %s: %w", intent.GroupID, obs.Err), nil
	}
	return obs
}

// searchLostCreate looks, among the groups of the group's first member, for
// the one group of the same name and type created since the intent.
func searchLostCreate(ctx context.Context, c vendors.Client, g *spec.Group, intent state.Intent, bound map[string]bool, now func() time.Time) Observation {
	obs := Observation{Searched: true}
	// Look for what the lost create sent (its member and type are in the
	// intent); the manifest may have changed since. Intents from before
	// they were recorded fall back to the manifest.
	member, typ := intent.Member, intent.Type
	if member == "" && len(g.Members) > 0 {
		member = g.Members[0].ID
	}
	if typ == "" {
		typ = g.Type
	}
	if member == "" {
		obs.RecoveryErr = fmt.Errorf("group %s has no member whose groups could be listed", g.Key)
		return obs
	}
	refs, err := c.ListGroups(ctx, member)
	if err != nil {
		obs.RecoveryErr = err
		return obs
	}
	// The name the lost create sent: the manifest's may have changed since.
	name := intent.Name
	if name == "" {
		name = g.Name
	}
	since := intent.StartedAt.Add(-recoverySkew).UnixMilli()
	var found, undated []string
	var match *vendors.Group
	for _, ref := range refs {
		if ref.Name != name || (typ != "" && ref.Type != typ) || bound[g.Provider+"\x00"+ref.ID] {
			continue
		}
		live, err := c.ReadGroup(ctx, ref.ID, "")
		if err != nil {
			obs.RecoveryErr = fmt.Errorf("candidate %s: %w", ref.ID, err)
			return obs
		}
		switch {
		case live.CreateTime == 0:
			// Whether it was made before the intent cannot be told: neither
			// adopt it nor take the search as proof that nothing was made.
			undated = append(undated, ref.ID)
		case live.CreateTime >= since:
			found = append(found, ref.ID)
			match = live
		}
	}
	switch {
	case len(undated) > 0:
		obs.RecoveryErr = fmt.Errorf("group %s: %s gives no creation time of the groups named %q (%v): pin the right one with groupId:", g.Key, g.Vendor, name, undated)
	case len(found) == 0:
	case len(found) == 1:
		// The candidate's read is the group's read: the plan goes on from it.
		obs.RecoveredID, obs.GroupID, obs.Group = found[0], found[0], match
		obs.ReadAt = now().UTC()
	default:
		obs.RecoveryErr = fmt.Errorf("group %s: %d groups named %q were created since the lost create (%v): pin the right one with groupId:", g.Key, len(found), name, found)
	}
	return obs
}

// CacheMatcher is FromCache for cached reads that stream in, in any order:
// each read is matched to the manifest group it observes and handed over
// at once, so that none is kept once planned. It is not safe for concurrent
// use.
type CacheMatcher struct {
	own  map[string]cacheWant   // by the group's key
	from map[string][]cacheWant // groups renamed from a key, by that key
	seen map[string]bool        // groups whose own key's read came, matching or not
	held map[string]state.Read  // reads of old keys, matched in Done
}

type cacheWant struct {
	g  *spec.Group
	id string // the group id the key now refers to
}

// NewCacheMatcher prepares the matching of cached reads to m's groups.
func NewCacheMatcher(m *spec.Manifest, bindings map[string]state.Binding) *CacheMatcher {
	c := &CacheMatcher{own: make(map[string]cacheWant, len(m.Groups)), from: map[string][]cacheWant{},
		seen: map[string]bool{}, held: map[string]state.Read{}}
	for _, g := range m.Groups {
		t := Resolve(g, bindings)
		if t.GroupID == "" {
			continue
		}
		w := cacheWant{g: g, id: t.GroupID}
		c.own[g.Key] = w
		if t.Bind != nil && t.Bind.Kind == BindRename {
			c.from[t.Bind.From] = append(c.from[t.Bind.From], w)
		}
	}
	return c
}

// Add matches cached read r: fn gets the observation of the group whose
// key r is, when r read the group id the key refers to. A read of a
// renamed group's old key is kept until Done.
func (c *CacheMatcher) Add(r state.Read, fn func(g *spec.Group, obs Observation)) {
	if w, ok := c.own[r.Key]; ok {
		c.seen[r.Key] = true
		if r.GroupID == w.id {
			fn(w.g, cachedObservation(r))
		}
	}
	if _, ok := c.from[r.Key]; ok {
		c.held[r.Key] = r
	}
}

// Done hands over the renamed groups observed by their old key's read,
// those with no read of their own key.
func (c *CacheMatcher) Done(fn func(g *spec.Group, obs Observation)) {
	for old, r := range c.held {
		for _, w := range c.from[old] {
			if !c.seen[w.g.Key] && r.GroupID == w.id {
				fn(w.g, cachedObservation(r))
			}
		}
	}
	clear(c.held)
}

func cachedObservation(r state.Read) Observation {
	grp := r.Group
	return Observation{GroupID: r.GroupID, Group: &grp, ReadAt: r.ReadAt, Cached: true}
}

// ReadOf is the read of g to cache from its observation, and false when
// there is none (not read, failed, or from the cache).
func ReadOf(g *spec.Group, o Observation) (state.Read, bool) {
	if o.Group == nil || o.Cached {
		return state.Read{}, false
	}
	return state.Read{Key: g.Key, Provider: g.Provider, GroupID: o.GroupID, Group: *o.Group, ReadAt: o.ReadAt}, true
}

// AppliedReads returns the cached reads brought up to date with what an
// apply did, to cache in the state, so that a plan from the cache
// (--refresh=false) after an apply does not plan it again: a created group
// as it was created, members added to (and removed from) the cached read of
// their group, a full read's current notice the last one posted. Groups
// whose steps were not made are left as they were read.
func AppliedReads(p *Plan, res *Result, cached map[string]state.Read, now time.Time) []state.Read {
	byKey := make(map[string]*GroupPlan, len(p.Groups))
	for i := range p.Groups {
		byKey[p.Groups[i].Key] = &p.Groups[i]
	}
	var out []state.Read
	for _, r := range res.Groups {
		if g := byKey[r.Key]; g != nil {
			if c, ok := AppliedRead(g, r, cached, now); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// AppliedRead is the read of g to cache after its apply r (see
// AppliedReads), and false when there is none: r changed nothing a read
// shows, or it needs the group's cached read (NeedsCachedRead) and cached
// has none of the group r applied. An apply may cache its groups' reads
// one batch at a time with it, as they end.
func AppliedRead(g *GroupPlan, r GroupResult, cached map[string]state.Read, now time.Time) (state.Read, bool) {
	switch {
	case r.Created && g.Create != nil:
		live := vendors.Group{ID: r.GroupID, Type: g.Create.Type}
		if g.Operator != "" {
			// The creator is a member and manager.
			live.Managers = []string{g.Operator}
			live.Members = append(live.Members, vendors.LiveMember{ID: g.Operator})
		}
		if d, ok := vendors.Lookup(g.Vendor); ok && d.ReadsName {
			live.Name = g.Create.Name
		}
		if d, ok := vendors.Lookup(g.Vendor); ok && d.Capabilities.ChangeOwner && g.Owner != nil {
			live.Owner = g.Owner.ID
		}
		for _, m := range g.Create.Members {
			live.Members = append(live.Members, vendors.LiveMember{ID: m.ID})
		}
		for _, m := range g.Create.Subscribers {
			live.Subscribers = append(live.Subscribers, vendors.LiveMember{ID: m.ID})
		}
		return state.Read{Key: g.Key, Provider: g.Provider, GroupID: r.GroupID, Group: live, ReadAt: now}, true
	case NeedsCachedRead(r):
		c, ok := cached[g.Key]
		if !ok || c.GroupID != r.GroupID {
			return state.Read{}, false
		}
		if r.Notices > 0 && c.Group.Info {
			// A full read's current notice is now the last one posted;
			// when some failed, which one is not known: forget the info.
			c.Group.Notice, c.Group.Info = nil, false
			if r.Notices == len(g.Notices) {
				n := *g.Notices[len(g.Notices)-1].Notice
				c.Group.Notice, c.Group.Info = &n, true
			}
		}
		if r.Renamed {
			c.Group.Name = g.Rename
		}
		if r.OwnerSet {
			c.Group.Owner, c.Group.Managers = g.SetOwner.ID, []string{g.SetOwner.ID}
		}
		c.ReadAt = now
		if r.Added == 0 && r.Removed == 0 {
			return c, true
		}
		// A copy, with room for the members added.
		c.Group.Members = append(make([]vendors.LiveMember, 0, len(c.Group.Members)+len(g.Add)), c.Group.Members...)
		if r.Added > 0 {
			for _, m := range g.Add {
				c.Group.Members = append(c.Group.Members, vendors.LiveMember{ID: m.ID})
			}
		}
		if r.Removed > 0 {
			gone := make(map[string]bool, len(g.Remove))
			for _, m := range g.Remove {
				gone[m.ID] = true
			}
			c.Group.Members = slices.DeleteFunc(c.Group.Members, func(m vendors.LiveMember) bool { return gone[m.ID] })
		}
		return c, true
	}
	return state.Read{}, false
}

// AppliedKeys are the keys whose cached reads AppliedReads needs: those of
// the groups the apply added members to, removed members from or posted
// notices to (a full read's current notice). Loading only these is enough.
func AppliedKeys(res *Result) []string {
	var keys []string
	for _, r := range res.Groups {
		if NeedsCachedRead(r) {
			keys = append(keys, r.Key)
		}
	}
	return keys
}

// NeedsCachedRead reports whether AppliedRead needs the cached read of r's
// group: r changed a group that was not created.
func NeedsCachedRead(r GroupResult) bool {
	return r.Added > 0 || r.Removed > 0 || r.Notices > 0 || r.Renamed || r.OwnerSet
}

// CachesRead reports whether AppliedRead may have a read to cache after
// r: r created its group or changed it.
func CachesRead(r GroupResult) bool {
	return r.Created || NeedsCachedRead(r)
}

// forEach runs fn(0..n-1) on at most parallelism goroutines and stops
// handing out work once ctx is done.
func forEach(ctx context.Context, n, parallelism int, fn func(i int)) {
	if parallelism < 1 {
		parallelism = 1
	}
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

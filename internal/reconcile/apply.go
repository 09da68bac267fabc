package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// Journal is the part of the state that Apply writes: bindings and the
// intent journal that makes creates and posts crash-safe. *state.Store
// implements it.
type Journal interface {
	Bind(ctx context.Context, b state.Binding) error
	Binding(ctx context.Context, key string) (state.Binding, bool, error)
	Rename(ctx context.Context, oldKey, newKey string) error
	BeginIntent(ctx context.Context, in state.Intent) (int64, error)
	CompleteCreate(ctx context.Context, id int64, b state.Binding) error
	CompletePost(ctx context.Context, id int64, p state.Post) error
	AbandonIntent(ctx context.Context, id int64) error
	NoteAttempt(ctx context.Context, id int64, at time.Time) error
}

var _ Journal = (*state.Store)(nil)

// Applier executes plans.
type Applier struct {
	Clients     map[string]vendors.Client // by provider name
	Journal     Journal
	Parallelism int                 // vendor calls in flight at most
	Logger      *slog.Logger        // nil: no logs
	OnGroup     func(r GroupResult) // called once per group applied, from any goroutine
	Now         func() time.Time    // default time.Now
}

// GroupResult is what applying one group's steps did.
type GroupResult struct {
	Key      string
	GroupID  string
	Bound    bool // a state binding was recorded
	Created  bool
	Added    int
	Removed  int // members removed (prune)
	Renamed  bool
	OwnerSet bool
	Notices  int
	Banners  int
	Err      error // every failure of this group, joined
	Unknown  bool  // a write's outcome is unknown: resolve it as the next plan says
	Canceled bool  // steps were skipped because apply was interrupted
}

// Result is what Apply did.
type Result struct {
	Groups   []GroupResult // groups that had steps, in plan order
	Created  int
	Added    int
	Removed  int
	Renamed  int // groups renamed
	OwnerSet int // groups given a new owner
	Notices  int
	Banners  int
	Bound    int
	Failed   int
	Canceled bool
}

// Apply executes the plan's steps, group by group in parallel; each group
// converges on its own, and one group's failure does not stop the others.
// When ctx is cancelled, calls in flight finish and are recorded, and no new
// call starts.
//
// At most Parallelism vendor calls are in flight, but four times as many
// groups are worked on: each write waits for a journal commit before and
// after its call, and the extra groups keep every call slot busy meanwhile
// (a group waiting for a slot has opened no intent).
func (a *Applier) Apply(ctx context.Context, p *Plan) *Result {
	var todo []*GroupPlan
	for i := range p.Groups {
		if p.Groups[i].changes() {
			todo = append(todo, &p.Groups[i])
		}
	}
	results := make([]GroupResult, len(todo))
	var mu sync.Mutex
	slots := make(chan struct{}, max(1, a.Parallelism))
	forEach(ctx, len(todo), 4*cap(slots), func(i int) {
		r := a.applyGroup(ctx, todo[i], slots)
		mu.Lock()
		results[i] = r
		mu.Unlock()
		if a.OnGroup != nil {
			a.OnGroup(r)
		}
	})
	res := &Result{Canceled: ctx.Err() != nil}
	for i, r := range results {
		if r.Key == "" { // never started: interrupted
			r = GroupResult{Key: todo[i].Key, GroupID: todo[i].GroupID, Canceled: true}
		}
		res.Groups = append(res.Groups, r)
		res.Created += btoi(r.Created)
		res.Bound += btoi(r.Bound)
		res.Added += r.Added
		res.Removed += r.Removed
		res.Renamed += btoi(r.Renamed)
		res.OwnerSet += btoi(r.OwnerSet)
		res.Notices += r.Notices
		res.Banners += r.Banners
		if r.Err != nil {
			res.Failed++
		}
	}
	return res
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// applyGroup runs one group's steps in order: binding, create, add members,
// remove members, notices, banners. Vendor calls run on a context that is not
// cancelled, so a call in flight at an interrupt completes and is recorded;
// they keep the run's deadline, if it has one.
func (a *Applier) applyGroup(ctx context.Context, g *GroupPlan, slots chan struct{}) GroupResult {
	r := GroupResult{Key: g.Key, GroupID: g.GroupID}
	call := context.WithoutCancel(ctx)
	if a.Clients[g.Provider] == nil {
		r.Err = fmt.Errorf("group %s: no client for provider %s", g.Key, g.Provider)
		return r
	}
	c := slotted{boundBy(a.Clients[g.Provider], ctx), slots, ctx.Done()}
	if g.Bind != nil {
		if err := a.bind(call, g); err != nil {
			r.Err = err
			return r
		}
		r.Bound = g.Bind.Kind != BindRetry
		if g.Bind.GroupID != "" {
			r.GroupID = g.Bind.GroupID
		}
	}
	if g.Create != nil {
		if ctx.Err() != nil {
			r.Canceled = true
			return r
		}
		id, err := a.create(call, c, g)
		if errors.Is(err, errInterrupted) {
			r.Canceled = true
			return r
		}
		if err != nil {
			r.Err, r.Unknown = err, errors.Is(err, vendors.ErrUnknownOutcome)
			return r
		}
		r.Created, r.GroupID = true, id
	}
	var errs []error
	if g.OneUpdate && g.updates() {
		if ctx.Err() != nil {
			r.Canceled = true
			return r
		}
		err := a.update(ctx, call, c, g, r.GroupID)
		switch {
		case errors.Is(err, errInterrupted):
			r.Canceled = true
			return r
		case err != nil:
			errs = append(errs, err)
		default:
			r.Added, r.Removed = len(g.Add), len(g.Remove)
			r.Renamed, r.OwnerSet = g.Rename != "", g.SetOwner != nil
		}
	}
	if len(g.Add) > 0 && !g.OneUpdate {
		if ctx.Err() != nil {
			r.Canceled = true
			return r
		}
		ids := make([]string, len(g.Add))
		for i, m := range g.Add {
			ids[i] = m.ID
		}
		err := c.AddMembers(call, r.GroupID, g.Operator, ids)
		switch {
		case errors.Is(err, errInterrupted):
			r.Canceled = true
			return r
		case err != nil:
			errs = append(errs, fmt.Errorf("group %s: add %d members: %w", g.Key, len(ids), err))
		default:
			r.Added = len(ids)
		}
	}
	if len(g.Remove) > 0 && !g.OneUpdate {
		if ctx.Err() != nil {
			r.Canceled = true
			return r
		}
		// After the adds: a group is never left smaller than both the live
		// and the desired one when the add fails and the remove does not.
		ids := memberIDs(g.Remove)
		err := c.RemoveMembers(call, r.GroupID, g.Operator, ids)
		switch {
		case errors.Is(err, errInterrupted):
			r.Canceled = true
			return r
		case err != nil:
			errs = append(errs, fmt.Errorf("group %s: remove %d members: %w", g.Key, len(ids), err))
		default:
			r.Removed = len(ids)
		}
	}
	for _, kind := range []state.PostKind{state.PostNotice, state.PostBanner} {
		steps := g.Notices
		if kind == state.PostBanner {
			steps = g.Banners
		}
		for _, s := range steps {
			if ctx.Err() != nil {
				r.Canceled = true
				break
			}
			err := a.post(call, c, g, r.GroupID, kind, s)
			if errors.Is(err, errInterrupted) {
				r.Canceled = true
				break
			}
			if err != nil {
				errs = append(errs, err)
				r.Unknown = r.Unknown || errors.Is(err, vendors.ErrUnknownOutcome)
				continue
			}
			if kind == state.PostNotice {
				r.Notices++
			} else {
				r.Banners++
			}
		}
	}
	r.Err = errors.Join(errs...)
	return r
}

func (a *Applier) bind(ctx context.Context, g *GroupPlan) error {
	b := g.Bind
	var err error
	switch b.Kind {
	case BindRename:
		err = a.Journal.Rename(ctx, b.From, g.Key)
		if err == nil {
			var cur state.Binding
			cur, _, err = a.Journal.Binding(ctx, g.Key)
			if err == nil && cur.GroupID != b.GroupID {
				err = a.Journal.Bind(ctx, state.Binding{Key: g.Key, Provider: g.Provider, GroupID: b.GroupID, Origin: state.OriginAdopted, BoundAt: a.now()})
			}
		}
	case BindAdopt, BindRecover:
		origin := state.OriginAdopted
		if b.Kind == BindRecover {
			origin = state.OriginRecovered
		}
		binding := state.Binding{Key: g.Key, Provider: g.Provider, GroupID: b.GroupID, Origin: origin, BoundAt: a.now()}
		if b.IntentID != 0 {
			err = a.Journal.CompleteCreate(ctx, b.IntentID, binding)
		} else {
			err = a.Journal.Bind(ctx, binding)
		}
	case BindRetry:
		err = a.Journal.AbandonIntent(ctx, b.IntentID)
	}
	if err != nil {
		return fmt.Errorf("group %s: record %s in state: %w", g.Key, b.Kind, err)
	}
	a.log(ctx, "state updated", "group", g.Key, "change", string(b.Kind), "groupId", b.GroupID)
	return nil
}

// update sends every change of an existing group as one call (a vendor
// with Capabilities.OneUpdate): adds, removes, the name and the owner.
func (a *Applier) update(run, ctx context.Context, c slotted, g *GroupPlan, groupID string) error {
	u, ok := a.Clients[g.Provider].(vendors.Updater)
	if !ok {
		return fmt.Errorf("group %s: update: provider %s's client cannot make one update call", g.Key, g.Provider)
	}
	up := vendors.GroupUpdate{Name: g.Rename, Add: memberIDs(g.Add), Remove: memberIDs(g.Remove)}
	if g.SetOwner != nil {
		up.Owner = g.SetOwner.ID
	}
	if err := c.acquire(); err != nil {
		return err
	}
	defer c.release()
	if dl, has := run.Deadline(); has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	if err := u.UpdateGroup(ctx, groupID, g.Operator, up); err != nil {
		return fmt.Errorf("group %s: update (%s): %w", g.Key, describeUpdate(up), err)
	}
	a.log(ctx, "group updated", "group", g.Key, "groupId", groupID, "change", describeUpdate(up))
	return nil
}

// describeUpdate says what an update changes, for errors and logs.
func describeUpdate(u vendors.GroupUpdate) string {
	var parts []string
	if u.Name != "" {
		parts = append(parts, "rename")
	}
	if u.Owner != "" {
		parts = append(parts, "owner")
	}
	if len(u.Add) > 0 {
		parts = append(parts, fmt.Sprintf("add %d members", len(u.Add)))
	}
	if len(u.Remove) > 0 {
		parts = append(parts, fmt.Sprintf("remove %d members", len(u.Remove)))
	}
	return strings.Join(parts, ", ")
}

// create journals the intent, sends the create and records its outcome. An
// unknown outcome leaves the intent open: the next plan blocks the group
// until it is resolved, so the group is never created twice. On a vendor
// whose client chooses the group id, the id is chosen here and journaled
// with the intent before the call; a create sent again (its first answer
// lost, a read found no group) reuses its open intent and id.
func (a *Applier) create(ctx context.Context, c slotted, g *GroupPlan) (string, error) {
	// The slot comes first: an intent is opened only for a call about to be
	// sent, so an interrupt or a crash leaves no intent for a call never made.
	if err := c.acquire(); err != nil {
		return "", err
	}
	in := state.Intent{Key: g.Key, Provider: g.Provider, Kind: state.IntentCreate, Name: g.Create.Name, Type: g.Create.Type, StartedAt: a.now()}
	if len(g.Create.Members) > 0 {
		in.Member = g.Create.Members[0].ID
	}
	resend := g.Create.IntentID != 0
	id := g.Create.IntentID
	if resend {
		in.GroupID = g.Create.ID
	} else if d, ok := vendors.Lookup(g.Vendor); ok && d.Capabilities.ChosenID {
		// The id must be journaled before the call: a client (or a wrapper
		// of one) that cannot choose it would make a create only a person
		// could settle.
		ch, ok := a.Clients[g.Provider].(vendors.IDChooser)
		if !ok {
			c.release()
			return "", fmt.Errorf("group %s: create: provider %s's client does not choose group ids", g.Key, g.Provider)
		}
		chosen, err := ch.NewGroupID()
		if err != nil {
			c.release()
			return "", fmt.Errorf("group %s: choose a group id: %w", g.Key, err)
		}
		in.GroupID = chosen
	}
	if !resend {
		var err error
		if id, err = a.Journal.BeginIntent(ctx, in); err != nil {
			c.release()
			return "", fmt.Errorf("group %s: journal create: %w", g.Key, err)
		}
	}
	req := vendors.CreateRequest{Operator: g.Operator, Name: g.Create.Name, Type: g.Create.Type,
		Members: memberIDs(g.Create.Members), Subscribers: memberIDs(g.Create.Subscribers), ID: in.GroupID}
	if g.Owner != nil {
		req.Owner = g.Owner.ID
	}
	groupID, err := c.Client.CreateGroup(ctx, req)
	c.release()
	if err != nil {
		if resend && !errors.Is(err, vendors.ErrUnknownOutcome) {
			// The first send may yet land: the intent keeps its id open, and
			// the next plan reads the id again.
			if nerr := a.Journal.NoteAttempt(ctx, id, a.now()); nerr != nil {
				err = errors.Join(err, nerr)
			}
		} else if !errors.Is(err, vendors.ErrUnknownOutcome) {
			if aerr := a.Journal.AbandonIntent(ctx, id); aerr != nil {
				err = errors.Join(err, aerr)
			}
		} else if nerr := a.Journal.NoteAttempt(ctx, id, a.now()); nerr != nil {
			// The intent stays open either way; its settling then counts
			// from when it was begun.
			err = errors.Join(err, nerr)
		}
		return "", fmt.Errorf("group %s: create: %w", g.Key, err)
	}
	b := state.Binding{Key: g.Key, Provider: g.Provider, GroupID: groupID, Origin: state.OriginCreated, BoundAt: a.now()}
	if err := a.Journal.CompleteCreate(ctx, id, b); err != nil {
		// The intent stays open: the next plan shows an unknown create.
		return "", fmt.Errorf("group %s: created %s but could not record it (%w): %w", g.Key, groupID, vendors.ErrUnknownOutcome, err)
	}
	a.log(ctx, "group created", "group", g.Key, "groupId", groupID)
	return groupID, nil
}

func (a *Applier) post(ctx context.Context, c slotted, g *GroupPlan, groupID string, kind state.PostKind, s PostStep) error {
	ik := state.IntentNotice
	if kind == state.PostBanner {
		ik = state.IntentBanner
	}
	if err := c.acquire(); err != nil {
		return err
	}
	id, err := a.Journal.BeginIntent(ctx, state.Intent{Key: g.Key, Provider: g.Provider, Kind: ik, Name: s.Title, Hash: s.Hash, GroupID: groupID, StartedAt: a.now()})
	if err != nil {
		c.release()
		return fmt.Errorf("group %s: journal %s %q: %w", g.Key, kind, s.Title, err)
	}
	var vid string
	if s.Notice != nil {
		vid, err = c.Client.PostNotice(ctx, groupID, g.Operator, *s.Notice)
	} else {
		vid, err = c.Client.PostBanner(ctx, groupID, g.Operator, *s.Banner)
	}
	c.release()
	if err != nil {
		if !errors.Is(err, vendors.ErrUnknownOutcome) {
			if aerr := a.Journal.AbandonIntent(ctx, id); aerr != nil {
				err = errors.Join(err, aerr)
			}
		}
		return fmt.Errorf("group %s: post %s %q: %w", g.Key, kind, s.Title, err)
	}
	if err := a.Journal.CompletePost(ctx, id, state.Post{Key: g.Key, Kind: kind, Hash: s.Hash, VendorID: vid, PostedAt: a.now()}); err != nil {
		return fmt.Errorf("group %s: posted %s %q but could not record it (%w): %w", g.Key, kind, s.Title, vendors.ErrUnknownOutcome, err)
	}
	return nil
}

func (a *Applier) log(ctx context.Context, msg string, args ...any) {
	if a.Logger != nil {
		a.Logger.InfoContext(ctx, msg, args...)
	}
}

// errInterrupted: apply was interrupted while a write waited for a call
// slot, so the call was not made.
var errInterrupted = errors.New("interrupted before the call was made")

// slotted bounds the write calls in flight: each takes one of the slots
// for its duration. A call still waiting for a slot when stop is done is
// not made: calls in flight finish, and no new call starts.
type slotted struct {
	vendors.Client
	slots chan struct{}
	stop  <-chan struct{} // closed when the apply is interrupted
}

func (c slotted) acquire() error {
	select {
	case c.slots <- struct{}{}:
	case <-c.stop:
		return errInterrupted
	}
	select {
	case <-c.stop:
		c.release()
		return errInterrupted
	default:
	}
	return nil
}

func (c slotted) release() { <-c.slots }

func (c slotted) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	if err := c.acquire(); err != nil {
		return err
	}
	defer c.release()
	return c.Client.AddMembers(ctx, groupID, operator, ids)
}

func (c slotted) RemoveMembers(ctx context.Context, groupID, operator string, ids []string) error {
	if err := c.acquire(); err != nil {
		return err
	}
	defer c.release()
	return c.Client.RemoveMembers(ctx, groupID, operator, ids)
}

func memberIDs(ms []Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

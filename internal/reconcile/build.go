package reconcile

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// Input is everything the planner decides from. Building a plan does no I/O.
type Input struct {
	Manifest *spec.Manifest
	Bindings map[string]state.Binding
	Posts    map[string][]state.Post // by group key
	Intents  []state.Intent          // open journal entries
	Observed map[string]Observation  // by group key; see Observe
	// Caps says what each vendor can do; a vendor missing here can do nothing
	// but create and read.
	Caps      map[spec.Vendor]vendors.Capabilities
	Refreshed bool
	Serial    int64
	Lineage   string // the state's lineage id, recorded in the plan
	Now       time.Time
	// Settle is how long after its last attempt a create of unknown outcome
	// may still be carried out by the vendor: until then, finding no group
	// is no proof that none was made, and the group is blocked.
	Settle time.Duration
}

// Observation is what was learnt of one group before planning.
type Observation struct {
	GroupID string         // the id that was read
	Group   *vendors.Group // nil when not read or the read failed
	ReadAt  time.Time
	Cached  bool  // from the state's cache, not a live read
	Err     error // the live read failed; errors.Is(Err, vendors.ErrNotFound) means the group is gone

	// For a key with an open create intent on a vendor that can list groups
	// (or, ChosenNotFound, that chose the id: the read of it said not found):
	ChosenNotFound bool
	Searched       bool   // the vendor was searched for the group
	RecoveredID    string // the one group found that the lost create made
	RecoveryErr    error  // the search failed or was ambiguous
}

// Builder makes the plan group by group, as observations arrive, so that a
// group's read can be dropped once the group is planned: Build for reads
// that stream in. Its plan is Build's for the same observations, whatever
// the order they were added in. It is not safe for concurrent use.
type Builder struct {
	in      Input // Observed is not used
	intents map[string]*keyIntents
	index   map[string]int // manifest position by group key
	groups  []GroupPlan
	added   []bool
	handles *handleIndex
	cache   CacheSpan // of the cached reads added
}

// NewBuilder starts a plan of in.Manifest; in.Observed is ignored (see Add).
func NewBuilder(in Input) *Builder {
	in.Observed = nil
	b := &Builder{
		in:      in,
		intents: indexIntents(in.Intents),
		index:   make(map[string]int, len(in.Manifest.Groups)),
		groups:  make([]GroupPlan, len(in.Manifest.Groups)),
		added:   make([]bool, len(in.Manifest.Groups)),
		handles: &handleIndex{people: in.Manifest.People},
	}
	for i, g := range in.Manifest.Groups {
		b.index[g.Key] = i
	}
	return b
}

// Add plans manifest group g from its observation; ok false means there is
// none (as a key missing from Input.Observed). The builder keeps nothing of
// obs but what the group's plan needs. Adding a group again replaces its
// plan; a group not of the manifest is ignored.
func (b *Builder) Add(g *spec.Group, obs Observation, ok bool) {
	i, known := b.index[g.Key]
	if !known {
		return
	}
	ki := b.intents[g.Key]
	if t := Resolve(g, b.in.Bindings); t.Bind != nil && t.Bind.Kind == BindRename {
		// The old key's open posts move with it: they stay unknown, not new.
		ki = ki.with(b.intents[t.Bind.From])
	}
	if ok && obs.Cached && !obs.ReadAt.IsZero() {
		t := obs.ReadAt.UTC()
		if b.cache.Oldest.IsZero() || t.Before(b.cache.Oldest) {
			b.cache.Oldest = t
		}
		if t.After(b.cache.Newest) {
			b.cache.Newest = t
		}
	}
	b.groups[i] = planGroup(b.in, g, ki, obs, ok, b.handles)
	b.added[i] = true
}

// Plan plans the groups not added with no observation, and returns the
// plan. The builder must not be used after.
func (b *Builder) Plan() *Plan {
	in := b.in
	for i, g := range in.Manifest.Groups {
		if !b.added[i] {
			b.Add(g, Observation{}, false)
		}
	}
	p := &Plan{
		FormatVersion:  FormatVersion,
		CreatedAt:      in.Now.UTC(),
		ManifestFiles:  in.Manifest.Files,
		ManifestDigest: in.Manifest.Digest,
		StateSerial:    in.Serial,
		StateLineage:   in.Lineage,
		Refreshed:      in.Refreshed,
		Groups:         b.groups,
	}
	if !in.Refreshed {
		span := b.cache
		p.Cache = &span
	}
	if len(p.Groups) == 0 {
		p.Groups = nil // as Build always made it
	}
	claimed := make(map[string]bool, len(p.Groups))
	for i := range p.Groups {
		gp := &p.Groups[i]
		claimed[gp.Key] = true
		if gp.Bind != nil && gp.Bind.Kind == BindRename {
			claimed[gp.Bind.From] = true
		}
	}
	for key := range in.Bindings {
		if !claimed[key] {
			p.Orphans = append(p.Orphans, key)
		}
	}
	sort.Strings(p.Orphans)
	markRenames(p, in.Bindings)
	capCreates(p)
	p.Summary = summarise(p.Groups)
	b.groups, b.added = nil, nil
	return p
}

type keyIntents struct {
	create *state.Intent
	posts  map[string]*state.Intent // by content hash
}

func indexIntents(list []state.Intent) map[string]*keyIntents {
	out := map[string]*keyIntents{}
	for i := range list {
		in := &list[i]
		ki := out[in.Key]
		if ki == nil {
			ki = &keyIntents{posts: map[string]*state.Intent{}}
			out[in.Key] = ki
		}
		if in.Kind == state.IntentCreate {
			ki.create = in
		} else {
			ki.posts[in.Hash] = in
		}
	}
	return out
}

// with returns the intents of ki and of old together; either may be nil.
func (ki *keyIntents) with(old *keyIntents) *keyIntents {
	if old == nil {
		return ki
	}
	if ki == nil {
		return &keyIntents{posts: old.posts}
	}
	out := &keyIntents{create: ki.create, posts: maps.Clone(old.posts)}
	maps.Copy(out.posts, ki.posts)
	return out
}

// Target is the vendor group a manifest group refers to, and the state
// change needed to record that.
type Target struct {
	GroupID string // empty when the group must be created
	Bind    *Bind
}

// Resolve finds the vendor group of g from its pin and the state. The
// observer and the planner both use it, so they agree on what to read.
func Resolve(g *spec.Group, bindings map[string]state.Binding) Target {
	if b, ok := bindings[g.Key]; ok {
		if g.GroupID != "" && g.GroupID != b.GroupID {
			return Target{GroupID: g.GroupID, Bind: &Bind{Kind: BindAdopt, GroupID: g.GroupID,
				Reason: fmt.Sprintf("manifest pins %s; the state had %s", g.GroupID, b.GroupID)}}
		}
		return Target{GroupID: b.GroupID}
	}
	for _, old := range g.Previously {
		if b, ok := bindings[old]; ok {
			id := b.GroupID
			if g.GroupID != "" {
				id = g.GroupID
			}
			return Target{GroupID: id, Bind: &Bind{Kind: BindRename, GroupID: id, From: old,
				Reason: fmt.Sprintf("renamed from %s", old)}}
		}
	}
	if g.GroupID != "" {
		return Target{GroupID: g.GroupID, Bind: &Bind{Kind: BindAdopt, GroupID: g.GroupID, Reason: "manifest pins the group id"}}
	}
	return Target{}
}

func planGroup(in Input, g *spec.Group, ki *keyIntents, obs Observation, observed bool, handles *handleIndex) GroupPlan {
	gp := GroupPlan{
		Key:      g.Key,
		Provider: g.Provider,
		Vendor:   string(g.Vendor),
		Name:     g.Name,
	}
	if g.Owner != nil {
		gp.Owner = &Member{Handle: g.Owner.Handle, ID: g.Owner.ID}
		gp.Operator = g.Owner.ID
	}
	caps := in.Caps[g.Vendor]
	t := Resolve(g, in.Bindings)
	gp.Bind = t.Bind

	if t.GroupID == "" && ki != nil && ki.create != nil {
		if !resolveUnknownCreate(&gp, g, ki.create, obs, in.Now, in.Settle) {
			gp.Action = actionOf(&gp)
			return gp
		}
	}
	if t.GroupID != "" && ki != nil && ki.create != nil && gp.Bind != nil {
		// A pin settles a lost create: the intent is closed by the binding.
		gp.Bind.IntentID = ki.create.ID
	}

	if t.GroupID == "" && gp.Bind == nil || gp.Bind != nil && gp.Bind.Kind == BindRetry {
		planCreate(&gp, g)
		if t.GroupID == "" && gp.Bind == nil && ki != nil && ki.create != nil && ki.create.GroupID != "" && caps.ChosenID {
			// A lost create of an id groupsync chose, which a read did not
			// find: sent again with the same id, under its open intent.
			gp.Create.ID, gp.Create.IntentID = ki.create.GroupID, ki.create.ID
		}
		planPosts(&gp, g, nil, ki)
		gp.Action = actionOf(&gp)
		return gp
	}
	if gp.Bind != nil && gp.Bind.Kind == BindRecover {
		t.GroupID = gp.Bind.GroupID
	}
	gp.GroupID = t.GroupID

	switch {
	case !observed || obs.Group == nil && obs.Err == nil:
		dropUnreadPin(&gp, in.Bindings)
		gp.Errors = append(gp.Errors, Issue{Kind: IssueNotRead,
			Message: "no cached read of group " + t.GroupID,
			Fix:     "run plan with --refresh (the default) to read it"})
		reportUnknownPosts(&gp, g, in.Posts[g.Key], ki)
	case obs.Err != nil && errors.Is(obs.Err, vendors.ErrNotFound):
		dropUnreadPin(&gp, in.Bindings)
		fix := fmt.Sprintf("run `groupsync state forget %s` to create it again, or pin another id with groupId:", g.Key)
		if g.GroupID != "" {
			// Forgetting would not help: the pin adopts the same id again.
			fix = fmt.Sprintf("the manifest pins groupId %s: change it to the group's id, or remove it (and run `groupsync state forget %s`) to create the group again", g.GroupID, g.Key)
		}
		gp.Errors = append(gp.Errors, Issue{Kind: IssueVanished,
			Message: fmt.Sprintf("%s says group %s does not exist", g.Vendor, t.GroupID),
			Fix:     fix})
	case obs.Err != nil:
		dropUnreadPin(&gp, in.Bindings)
		gp.Errors = append(gp.Errors, Issue{Kind: IssueReadFailed,
			Message: "read failed, nothing planned for this group: " + obs.Err.Error(),
			Fix:     "run plan again; if it persists, check the provider's endpoint, token and operator"})
		reportUnknownPosts(&gp, g, in.Posts[g.Key], ki)
	default:
		posted := in.Posts[g.Key]
		if gp.Bind != nil && gp.Bind.Kind == BindRename {
			// What was posted under the old key moves with it.
			posted = append(slices.Clip(posted), in.Posts[gp.Bind.From]...)
		}
		planMembers(&gp, g, obs.Group, caps)
		planPrune(&gp, g, in.Manifest.Providers[g.Provider], obs.Group, caps, handles)
		gp.OneUpdate = caps.OneUpdate && gp.updates()
		planPosts(&gp, g, posted, ki)
		planNotice(&gp, g, obs.Group)
	}
	gp.Action = actionOf(&gp)
	return gp
}

// dropUnreadPin keeps a pinned id out of the state until its group was
// read: an adoption is dropped, and a rename moves the old key's state
// without the pin.
func dropUnreadPin(gp *GroupPlan, bindings map[string]state.Binding) {
	switch {
	case gp.Bind == nil:
	case gp.Bind.Kind == BindAdopt:
		gp.Bind = nil
	case gp.Bind.Kind == BindRename:
		gp.Bind.GroupID = bindings[gp.Bind.From].GroupID
	}
}

// reportUnknownPosts shows the open post intents of a group that gets no
// step because it was not read: an unknown outcome is shown in every plan
// until it is resolved, not only in those whose read succeeded.
func reportUnknownPosts(gp *GroupPlan, g *spec.Group, posted []state.Post, ki *keyIntents) {
	if ki == nil || len(ki.posts) == 0 {
		return
	}
	planPosts(gp, g, posted, ki)
	gp.Notices, gp.Banners = nil, nil
}

// resolveUnknownCreate handles a key whose last create has an unknown
// outcome. It reports whether planning may go on (recovered, or provably not
// created); otherwise the group is blocked with the fix. A vendor may carry
// out a create late, after the client gave up or was killed: until settle
// has passed since the last attempt, finding no group proves nothing.
func resolveUnknownCreate(gp *GroupPlan, g *spec.Group, intent *state.Intent, obs Observation, now time.Time, settle time.Duration) bool {
	sent := intent.StartedAt.UTC().Format(time.RFC3339)
	until := intent.LastAttempt().Add(settle)
	settling := now.Before(until)
	fix := fmt.Sprintf("find the group on %s and pin it with groupId: (or `groupsync state import %s ID --provider %s`), or `groupsync state forget %s` to create it again", g.Vendor, g.Key, g.Provider, g.Key)
	switch {
	case obs.RecoveredID != "":
		gp.Bind = &Bind{Kind: BindRecover, GroupID: obs.RecoveredID, IntentID: intent.ID,
			Reason: fmt.Sprintf("the create sent at %s made group %s", sent, obs.RecoveredID)}
		return true
	case obs.ChosenNotFound && obs.RecoveryErr == nil:
		// The id was groupsync's: a second send with it cannot make a
		// second group (the vendor refuses the id), so no settling is
		// needed: the create is sent again with the same id.
		return true
	case intent.GroupID != "":
		// A create of an id groupsync chose is settled by reading that id,
		// never by a person: only the read is missing or failed.
		kind, why := IssueUnknownCreate, "it was not read (no live read)"
		if obs.RecoveryErr != nil {
			kind, why = IssueRecoveryFailed, "its read failed: "+obs.RecoveryErr.Error()
		}
		gp.Errors = append(gp.Errors, Issue{Kind: kind,
			Message: fmt.Sprintf("create sent at %s with id %s has an unknown outcome; %s", sent, intent.GroupID, why),
			Fix:     fmt.Sprintf("run plan again (with --refresh, the default): one read of %s settles it (found: bound; not found: sent again with the same id)", intent.GroupID)})
	case obs.RecoveryErr != nil:
		gp.Errors = append(gp.Errors, Issue{Kind: IssueRecoveryFailed,
			Message: fmt.Sprintf("create sent at %s has an unknown outcome and the search for it failed: %v", sent, obs.RecoveryErr),
			Fix:     fix})
	case settling:
		// Searched and found nothing, or no search is possible: either way
		// the vendor may still make the group. Nothing is concluded yet.
		how := fmt.Sprintf("wait: %s may still carry it out; the next plan after then looks for it again", g.Vendor)
		if !obs.Searched {
			how = fmt.Sprintf("wait: %s may still carry it out; after then, %s", g.Vendor, fix)
		}
		gp.Errors = append(gp.Errors, Issue{Kind: IssueSettling,
			Message: "a create of unknown outcome is settling until " + until.Local().Format(time.TimeOnly),
			Fix:     how})
	case obs.Searched:
		gp.Bind = &Bind{Kind: BindRetry, IntentID: intent.ID,
			Reason: fmt.Sprintf("the create sent at %s made no group: %s lists none named %q since", sent, g.Vendor, cmp.Or(intent.Name, g.Name))}
		return true
	default:
		gp.Errors = append(gp.Errors, Issue{Kind: IssueUnknownCreate,
			Message: fmt.Sprintf("create sent at %s has an unknown outcome; it may have made the group", sent),
			Fix:     fix})
	}
	return false
}

func planCreate(gp *GroupPlan, g *spec.Group) {
	c := &CreateStep{Name: g.Name, Type: g.Type}
	owner := ""
	if g.Owner != nil {
		owner = g.Owner.ID
	}
	for _, m := range g.Members {
		if m.ID != owner {
			c.Members = append(c.Members, Member{Handle: m.Handle, ID: m.ID})
		}
	}
	if c.Members == nil {
		c.Members = []Member{}
	}
	for _, m := range g.Subscribers {
		c.Subscribers = append(c.Subscribers, Member{Handle: m.Handle, ID: m.ID})
	}
	gp.Create = c
	gp.GroupID = Placeholder
}

// memberSet matches vendor ids exactly and emails without case, so that a
// Lunkr member named by email matches a live member read with its uid.
type memberSet map[string]bool

func (s memberSet) add(id, email string) {
	if id != "" {
		s[id] = true
		if strings.Contains(id, "@") {
			s[strings.ToLower(id)] = true
		}
	}
	if email != "" {
		s[strings.ToLower(email)] = true
	}
}

func (s memberSet) has(id, email string) bool {
	return s[id] || strings.Contains(id, "@") && s[strings.ToLower(id)] || email != "" && s[strings.ToLower(email)]
}

func planMembers(gp *GroupPlan, g *spec.Group, live *vendors.Group, caps vendors.Capabilities) {
	var owner *spec.Member // desired first, when not among the members
	if g.Owner != nil && !slices.ContainsFunc(g.Members, func(m *spec.Member) bool { return m.ID == g.Owner.ID }) {
		owner = g.Owner
	}
	missing, extra := diffMembers(owner, g.Members, live.Members)
	if len(missing) > 0 {
		if caps.AddMembers {
			gp.Add = missing
		} else {
			gp.Drift = append(gp.Drift, Drift{Kind: DriftMissingMember, Members: missing,
				Fix: fmt.Sprintf("%s cannot add members: add %s by hand", g.Vendor, joinIDs(missing))})
		}
	}
	if len(extra) > 0 {
		// A vendor that can remove does so only under prune (which takes
		// these back out of the drift): say how to turn it on.
		fix := "not in manifest, no removal API"
		if caps.RemoveMembers && !g.Prune {
			fix = "not in manifest (prune is off: set prune: true to remove)"
		}
		gp.Drift = append(gp.Drift, Drift{Kind: DriftExtraMember, Members: extra, Fix: fix})
	}
	if d, ok := vendors.Lookup(string(g.Vendor)); ok && d.Fields.SubscribersType != "" && g.Type == d.Fields.SubscribersType {
		missing, extra := diffMembers(nil, g.Subscribers, live.Subscribers)
		if len(missing) > 0 {
			gp.Drift = append(gp.Drift, Drift{Kind: DriftMissingSubscriber, Members: missing,
				Fix: fmt.Sprintf("%s cannot add subscribers: add %s by hand", g.Vendor, joinIDs(missing))})
		}
		if len(extra) > 0 {
			gp.Drift = append(gp.Drift, Drift{Kind: DriftExtraSubscriber, Members: extra,
				Fix: "subscribers not in manifest, no removal API"})
		}
	}
	if live.Name != "" && g.Name != "" && live.Name != g.Name {
		if caps.Rename {
			gp.Rename = g.Name
		} else {
			gp.Drift = append(gp.Drift, Drift{Kind: DriftName, Live: live.Name, Desired: g.Name,
				Fix: fmt.Sprintf("%s has no rename API: rename the group by hand", g.Vendor)})
		}
	}
	if caps.ChangeOwner && g.Owner != nil && live.Owner != "" && live.Owner != g.Owner.ID {
		gp.SetOwner = &Member{Handle: g.Owner.Handle, ID: g.Owner.ID}
	}
	if live.Type != "" && g.Type != "" && live.Type != g.Type {
		gp.Drift = append(gp.Drift, Drift{Kind: DriftType, Live: live.Type, Desired: g.Type,
			Fix: "a group's type cannot change: recreate it by hand and pin the new id"})
	}
}

// memberSets are the two sets diffMembers fills, kept for reuse: a plan
// diffs ten thousand groups, and making two maps of a few hundred entries
// for each was most of the planner's time and garbage.
type memberSets struct{ live, want memberSet }

var memberSetPool = sync.Pool{New: func() any { return &memberSets{live: memberSet{}, want: memberSet{}} }}

// diffMembers returns the desired members (first, when not nil, then
// desired) not live and the live members not desired, each in their input
// order. It is linear in both sizes.
func diffMembers(first *spec.Member, desired []*spec.Member, live []vendors.LiveMember) (missing, extra []Member) {
	sets := memberSetPool.Get().(*memberSets)
	defer func() {
		clear(sets.live)
		clear(sets.want)
		memberSetPool.Put(sets)
	}()
	liveSet, want := sets.live, sets.want
	for _, m := range live {
		liveSet.add(m.ID, m.Email)
	}
	check := func(m *spec.Member) {
		want.add(m.ID, "")
		if !liveSet.has(m.ID, "") {
			missing = append(missing, Member{Handle: m.Handle, ID: m.ID})
		}
	}
	if first != nil {
		check(first)
	}
	for _, m := range desired {
		check(m)
	}
	for _, m := range live {
		if !want.has(m.ID, m.Email) {
			label := m.ID
			if m.Email != "" {
				label = m.Email
			}
			extra = append(extra, Member{ID: label})
		}
	}
	return missing, extra
}

func planPosts(gp *GroupPlan, g *spec.Group, posted []state.Post, ki *keyIntents) {
	done := make(map[string]bool, len(posted))
	for _, p := range posted {
		done[string(p.Kind)+":"+p.Hash] = true
	}
	seen := map[string]bool{} // the hashes the manifest still holds
	for _, n := range g.Notices {
		v := n
		step := PostStep{Hash: ContentHash(v), Title: n.Title, Notice: &v}
		addPost(gp, &gp.Notices, step, state.PostNotice, done, ki)
		seen[step.Hash] = true
	}
	for _, b := range g.Banners {
		v := b
		step := PostStep{Hash: ContentHash(v), Title: b.Title, Banner: &v}
		addPost(gp, &gp.Banners, step, state.PostBanner, done, ki)
		seen[step.Hash] = true
	}
	reportLeftPosts(gp, ki, seen)
}

// reportLeftPosts shows the posts whose outcome is unknown and whose
// content has since left the manifest: nothing would post them again, but
// they may be on the vendor, and their intents stay open until resolved.
func reportLeftPosts(gp *GroupPlan, ki *keyIntents, seen map[string]bool) {
	if ki == nil {
		return
	}
	var left []*state.Intent
	for hash, in := range ki.posts {
		if !seen[hash] {
			left = append(left, in)
		}
	}
	slices.SortFunc(left, func(a, b *state.Intent) int { return cmp.Compare(a.ID, b.ID) })
	for _, in := range left {
		gp.Errors = append(gp.Errors, Issue{Kind: IssueUnknownPost,
			Message: fmt.Sprintf("%s %q sent at %s has an unknown outcome and is no longer in the manifest", in.Kind, in.Name, in.StartedAt.UTC().Format(time.RFC3339)),
			Fix:     fmt.Sprintf("check the group: if it is there run `groupsync state resolve %s posted --hash %s`, if not `groupsync state resolve %s not-posted --hash %s`", gp.Key, in.Hash, gp.Key, in.Hash)})
	}
}

func addPost(gp *GroupPlan, steps *[]PostStep, step PostStep, kind state.PostKind, done map[string]bool, ki *keyIntents) {
	if done[string(kind)+":"+step.Hash] {
		return
	}
	if ki != nil && ki.posts[step.Hash] != nil {
		in := ki.posts[step.Hash]
		gp.Errors = append(gp.Errors, Issue{Kind: IssueUnknownPost,
			Message: fmt.Sprintf("%s %q sent at %s has an unknown outcome; it may be posted", kind, step.Title, in.StartedAt.UTC().Format(time.RFC3339)),
			// The fix names the post: a key may have several whose outcome is
			// unknown, some on the vendor and some not.
			Fix: fmt.Sprintf("check the group: if it is there run `groupsync state resolve %s posted --hash %s`, if not `groupsync state resolve %s not-posted --hash %s`", gp.Key, step.Hash, gp.Key, step.Hash)})
		return
	}
	*steps = append(*steps, step)
}

// Content is what is posted to a group (a Notice or a Banner), in the
// canonical encoding its hash is taken over.
type Content interface{ Canonical() []byte }

// ContentHash identifies a notice's or banner's content: the state
// remembers each posted content by it, so each is posted once. It is the
// first 16 bytes of the SHA-256 of the content's canonical encoding, in
// hex; TestContentHashPinned holds it to the hashes existing states have.
func ContentHash(c Content) string {
	sum := sha256.Sum256(c.Canonical())
	return hex.EncodeToString(sum[:16])
}

func actionOf(g *GroupPlan) Action {
	switch {
	case g.Create != nil:
		return ActionCreate
	case g.changes():
		return ActionUpdate
	case len(g.Drift) > 0 || len(g.Errors) > 0:
		return ActionReport
	}
	return ActionNone
}

func summarise(groups []GroupPlan) Summary {
	var s Summary
	for i := range groups {
		g := &groups[i]
		if g.Create != nil {
			s.Create++
		}
		if g.Bind != nil && g.Bind.Kind == BindAdopt {
			s.Adopt++
		}
		if g.Bind != nil && g.Bind.Kind != BindRetry {
			s.StateWrites++
		}
		s.AddMembers += len(g.Add)
		s.RemoveMembers += len(g.Remove)
		if g.Rename != "" {
			s.Renames++
		}
		if g.SetOwner != nil {
			s.OwnerChanges++
		}
		s.Notices += len(g.Notices)
		s.Banners += len(g.Banners)
		s.Drift += len(g.Drift)
		s.Errors += len(g.Errors)
		s.WriteCalls += g.writeCalls()
		if g.Action == ActionNone {
			s.InSync++
		}
	}
	return s
}

func joinIDs(ms []Member) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return strings.Join(ids, ", ")
}

// capCreates blocks, in manifest order, the creates past a vendor's
// creates per apply (vendors.Vendor.CreatesPerApply, WeCom's daily limit):
// they wait for a later apply. A create sent again under its open intent
// counts too.
func capCreates(p *Plan) {
	counts := map[string]int{}
	for i := range p.Groups {
		gp := &p.Groups[i]
		if gp.Create == nil {
			continue
		}
		d, ok := vendors.Lookup(gp.Vendor)
		if !ok || d.CreatesPerApply <= 0 {
			continue
		}
		counts[gp.Vendor]++
		if counts[gp.Vendor] <= d.CreatesPerApply {
			continue
		}
		gp.Create, gp.GroupID, gp.SameNameOrphans = nil, "", nil
		if gp.Bind != nil && gp.Bind.Kind == BindRetry {
			gp.Bind = nil
		}
		gp.Errors = append(gp.Errors, Issue{Kind: IssueCreateCap,
			Message: fmt.Sprintf("%s allows %d creates a day: this apply creates the first %d groups of the manifest", d.Title, d.CreatesPerApply, d.CreatesPerApply),
			Fix:     "apply again tomorrow to create this group"})
		gp.Action = actionOf(gp)
	}
}

// markRenames notes, on each create, the orphan keys bound to a group of the
// same provider and name (SameNameOrphans). The name is the one groupsync
// created the group with, kept in its binding: the only name the state holds
// for every vendor (a Yunzhijia read returns none). A group groupsync did
// not create (adopted, imported) has none and is never suggested.
func markRenames(p *Plan, bindings map[string]state.Binding) {
	if len(p.Orphans) == 0 {
		return
	}
	byName := map[[2]string][]string{} // provider, name -> orphan keys, sorted
	for _, key := range p.Orphans {
		if b := bindings[key]; b.Name != "" {
			k := [2]string{b.Provider, b.Name}
			byName[k] = append(byName[k], key)
		}
	}
	for i := range p.Groups {
		gp := &p.Groups[i]
		if gp.Create != nil && gp.Create.Name != "" {
			gp.SameNameOrphans = slices.Clone(byName[[2]string{gp.Provider, gp.Create.Name}])
		}
	}
}

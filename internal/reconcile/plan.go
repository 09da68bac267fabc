package reconcile

import (
	"time"

	"groupsync/internal/vendors"
)

// FormatVersion is the version of the plan document (saved plans and
// `plan --format json`). It changes only when a field changes meaning or
// disappears; new fields may be added within a version.
const FormatVersion = 1

// Action is what a plan does to one group, shown as its first character.
type Action string

// Group actions.
const (
	ActionNone   Action = " " // in sync: nothing to do, nothing to report
	ActionCreate Action = "+" // the group is created (and everything that follows)
	ActionUpdate Action = "~" // the group exists; members, notices, banners or the state change
	ActionReport Action = "!" // nothing can be done here: drift to fix by hand, or an error
)

// Placeholder stands for the id of a group still to be created.
const Placeholder = "(known after create)"

// Plan is what `plan` prints and `apply` executes. It is plain data: the
// renderers only format it and Apply only executes its steps; nothing here
// is recomputed at apply time.
type Plan struct {
	FormatVersion int       `json:"formatVersion"`
	CreatedAt     time.Time `json:"createdAt"`
	// ManifestFiles and ManifestDigest say what the plan was made from; a
	// saved plan is refused when the files' digest or the StateSerial changed.
	ManifestFiles  []string `json:"manifestFiles"`
	ManifestDigest string   `json:"manifestDigest"`
	StateSerial    int64    `json:"stateSerial"`
	// StateLineage is the lineage id of the state the plan was made from: a
	// saved plan is applied to that state (or a copy of it) only.
	StateLineage string `json:"stateLineage,omitempty"`
	Refreshed    bool   `json:"refreshed"` // live reads, not the cache
	// Cache, on a plan made from the cache (Refreshed false), says when the
	// cached reads it used were made: a field added within format version 1.
	Cache  *CacheSpan  `json:"cache,omitempty"`
	Groups []GroupPlan `json:"groups"`
	// Orphans are keys the state knows that no manifest names any more; they
	// are left alone (groupsync deletes nothing) and listed so a user can
	// `state forget` them.
	Orphans []string `json:"orphans,omitempty"`
	// ProviderErrors are the providers that could not be used (see
	// BlockProviders), each said once; their groups refer to it.
	ProviderErrors []ProviderError `json:"providerErrors,omitempty"`
	Summary        Summary         `json:"summary"`
}

// CacheSpan is when the cached reads a plan was made from were read; both
// are zero when the cache held no read of the plan's groups.
type CacheSpan struct {
	Oldest time.Time `json:"oldest,omitzero"`
	Newest time.Time `json:"newest,omitzero"`
}

// Summary counts a plan's steps.
type Summary struct {
	Create      int `json:"create"`
	Adopt       int `json:"adopt"`
	AddMembers  int `json:"addMembers"` // members, not calls
	Notices     int `json:"notices"`
	Banners     int `json:"banners"`
	Drift       int `json:"drift"`
	Errors      int `json:"errors"`
	InSync      int `json:"inSync"`
	WriteCalls  int `json:"writeCalls"`  // vendor write calls apply would make
	StateWrites int `json:"stateWrites"` // bindings apply would record with no vendor call

	// RemoveMembers counts members to remove (prune), not calls: a field
	// added within format version 1, left out when 0.
	RemoveMembers int `json:"removeMembers,omitempty"`
	// Renames and OwnerChanges count groups renamed and given a new owner
	// (WeCom), left out when 0.
	Renames      int `json:"renames,omitempty"`
	OwnerChanges int `json:"ownerChanges,omitempty"`
}

// Member is a member as the plan shows it: the manifest handle when there is
// one, and the vendor id.
type Member struct {
	Handle string `json:"handle,omitempty"`
	ID     string `json:"id"`
}

// GroupPlan is everything the plan says about one group.
type GroupPlan struct {
	Key      string `json:"key"`
	Provider string `json:"provider"`
	Vendor   string `json:"vendor"`
	Name     string `json:"name,omitempty"`
	Action   Action `json:"action"`
	// GroupID is the vendor id the steps act on; Placeholder when the group
	// is still to be created.
	GroupID string `json:"groupId"`
	// Operator is the vendor id that writes act as (Yunzhijia currentUid).
	Operator string  `json:"operator,omitempty"`
	Owner    *Member `json:"owner,omitempty"`

	Bind    *Bind       `json:"bind,omitempty"`   // a state-only change: adopt, rename, recover
	Create  *CreateStep `json:"create,omitempty"` // a new group
	Add     []Member    `json:"addMembers,omitempty"`
	Notices []PostStep  `json:"notices,omitempty"`
	Banners []PostStep  `json:"banners,omitempty"`

	// Remove are the live members prune removes, in one call made after
	// the adds; never the owner, the provider's operator or a manager.
	Remove []Member `json:"removeMembers,omitempty"`

	// Rename is the name the group is given, and SetOwner its new owner,
	// where the vendor can change them (WeCom).
	Rename   string  `json:"rename,omitempty"`
	SetOwner *Member `json:"setOwner,omitempty"`
	// OneUpdate says that the vendor makes the adds, removes, rename and
	// owner change in one call (WeCom appchat/update).
	OneUpdate bool `json:"oneUpdate,omitempty"`

	Drift  []Drift `json:"drift,omitempty"`  // what cannot be converged: fix by hand
	Errors []Issue `json:"errors,omitempty"` // what blocks this group; no write is planned for a blocked step

	// SameNameOrphans, on a create, are the orphan keys (see Plan.Orphans)
	// bound to a group of the same provider and name: the key was likely
	// renamed without `previously:`, and the create would make a second
	// group. Display only: apply ignores it.
	SameNameOrphans []string `json:"sameNameOrphans,omitempty"`
}

// BindKind says why the state's binding of a key changes.
type BindKind string

// Binding changes.
const (
	BindAdopt   BindKind = "adopt"   // the manifest pins a group id
	BindRename  BindKind = "rename"  // `previously` moves an old key's state
	BindRecover BindKind = "recover" // an unknown create is found on the vendor
	BindRetry   BindKind = "retry"   // an unknown create provably did not happen: its intent is dropped
)

// Bind is a state change made without a vendor call.
type Bind struct {
	Kind     BindKind `json:"kind"`
	GroupID  string   `json:"groupId,omitempty"`
	From     string   `json:"from,omitempty"`     // the old key, for a rename
	IntentID int64    `json:"intentId,omitempty"` // the journal entry it closes
	Reason   string   `json:"reason"`
}

// CreateStep is one group creation, with all its members.
type CreateStep struct {
	Name        string   `json:"name,omitempty"`
	Type        string   `json:"type,omitempty"`
	Members     []Member `json:"members"` // every desired member; the owner excluded on Yunzhijia
	Subscribers []Member `json:"subscribers,omitempty"`
	// ID is the group id groupsync chose, on a vendor whose client chooses
	// it, when the create is sent again: its first send's answer was lost
	// and a read of the id found no group. IntentID is that create's open
	// intent, which the send reuses (the id stays journaled throughout).
	// A first create has neither: its id is chosen and journaled at apply.
	ID       string `json:"id,omitempty"`
	IntentID int64  `json:"intentId,omitempty"`
}

// PostStep is one notice or banner to post.
type PostStep struct {
	Hash   string  `json:"hash"` // what the state remembers it by
	Title  string  `json:"title,omitempty"`
	Notice *Notice `json:"notice,omitempty"`
	Banner *Banner `json:"banner,omitempty"`
}

// Notice is a notice's content (the one Notice type, shared with the
// manifest and the clients).
type Notice = vendors.Notice

// Banner is a banner's content (the one Banner type).
type Banner = vendors.Banner

// DriftKind classifies drift.
type DriftKind string

// Kinds of drift.
const (
	DriftMissingMember     DriftKind = "missing-member"     // the vendor cannot add members
	DriftMissingSubscriber DriftKind = "missing-subscriber" // the vendor cannot add subscribers
	DriftExtraMember       DriftKind = "extra-member"       // prune off, protected, or no removal API
	DriftExtraSubscriber   DriftKind = "extra-subscriber"
	DriftName              DriftKind = "name" // no rename API
	DriftType              DriftKind = "type"
	DriftNotice            DriftKind = "notice" // the current notice is not the manifest's last (read: full)
)

// Drift is a difference groupsync cannot fix; Fix says what to do by hand.
type Drift struct {
	Kind    DriftKind `json:"kind"`
	Members []Member  `json:"members,omitempty"`
	Live    string    `json:"live,omitempty"`
	Desired string    `json:"desired,omitempty"`
	Fix     string    `json:"fix"`
}

// IssueKind classifies what blocks a group.
type IssueKind string

// Kinds of blocking issue.
const (
	IssueReadFailed     IssueKind = "read-failed"     // no write is planned on a failed read
	IssueNotRead        IssueKind = "not-read"        // --refresh=false with nothing cached
	IssueVanished       IssueKind = "vanished"        // the vendor says the group is gone
	IssueUnknownCreate  IssueKind = "unknown-create"  // a create's outcome is unknown
	IssueUnknownPost    IssueKind = "unknown-post"    // a notice or banner's outcome is unknown
	IssueRecoveryFailed IssueKind = "recovery-failed" // looking for an unknown create failed
	IssueSettling       IssueKind = "create-settling" // an unknown create may still land: wait
	IssueCreateCap      IssueKind = "create-cap"      // over the vendor's creates per apply: the next apply
)

// Issue is an error that blocks a group (or one of its steps).
type Issue struct {
	Kind    IssueKind `json:"kind"`
	Message string    `json:"message"`
	Fix     string    `json:"fix,omitempty"`
}

// CanApply reports whether applying the plan would change anything: a vendor
// write or a state binding.
func (p *Plan) CanApply() bool {
	return p.Summary.WriteCalls > 0 || p.Summary.StateWrites > 0
}

// HasDrift reports whether the plan shows drift or errors to fix by hand.
func (p *Plan) HasDrift() bool {
	return p.Summary.Drift > 0 || p.Summary.Errors > 0
}

// HasErrors reports whether any group is blocked by an error.
func (p *Plan) HasErrors() bool { return p.Summary.Errors > 0 }

// writeCalls is the number of vendor write calls the group's steps make.
func (g *GroupPlan) writeCalls() int {
	n := len(g.Notices) + len(g.Banners)
	if g.Create != nil {
		n++
	}
	if g.OneUpdate {
		if g.updates() {
			n++
		}
		return n
	}
	if len(g.Add) > 0 {
		n++
	}
	if len(g.Remove) > 0 {
		n++
	}
	return n
}

// updates reports whether the group has a change for an existing group:
// adds, removes, a rename or a new owner.
func (g *GroupPlan) updates() bool {
	return len(g.Add) > 0 || len(g.Remove) > 0 || g.Rename != "" || g.SetOwner != nil
}

// changes reports whether the group has any step to apply.
func (g *GroupPlan) changes() bool { return g.writeCalls() > 0 || g.Bind != nil }

// Package vendors declares what the reconciler needs from a chat vendor (the
// Client interface and each vendor's Capabilities), the typed errors every
// vendor client returns, and the HTTP transport they share: rate limiting,
// retries that never repeat a write whose outcome is unknown, token sources
// (a fixed token, a tokenCommand, or app credentials with each vendor's
// Auth: fetched once per process, shared, renewed before expiry, a failure
// kept as one error per provider), and redaction of the access token and
// the app's secrets from everything that leaves the package.
//
// One package per vendor (yunzhijia, lunkr) implements Client and ships a
// simulator that speaks the same wire format.
package vendors

import "context"

// Capabilities says what a vendor's API can do, so that the planner can tell
// what it can converge and what it must report as drift to fix by hand.
type Capabilities struct {
	AddMembers    bool // add members to an existing group
	RemoveMembers bool // remove members from an existing group (prune)
	GroupInfo     bool // read a group's name and current notice apart from its members (read: full)
	Notices       bool // post group notices
	Banners       bool // post group banners
	ListGroups    bool // list the groups of a user (used to recover unknown creates)
	History       bool // create a merged message history

	// Rename and ChangeOwner: an existing group's name and owner can be
	// changed (WeCom appchat/update).
	Rename      bool
	ChangeOwner bool
	// ChosenID: the client chooses a new group's id (CreateRequest.ID), so
	// the id is journaled before the create is sent, and a lost create is
	// settled by reading that id: found, it is bound; not found, the create
	// is sent again with the same id, which the vendor refuses to make twice.
	ChosenID bool
	// OneUpdate: one call (Updater.UpdateGroup) carries every change of a
	// group (name, owner, adds, removes); the client is an Updater.
	OneUpdate bool
}

// LiveMember is a member as a vendor reports it. Yunzhijia fills ID only;
// Lunkr fills ID (uid), Email and Name.
type LiveMember struct {
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Group is one live read of a group.
type Group struct {
	ID          string       `json:"id"`
	Name        string       `json:"name,omitempty"` // empty when the vendor's read does not return it (Yunzhijia)
	Type        string       `json:"type,omitempty"`
	CreateTime  int64        `json:"createTime,omitempty"` // Unix milliseconds; 0 when unknown
	Managers    []string     `json:"managers,omitempty"`
	Owner       string       `json:"owner,omitempty"` // the owner's id, where the vendor reads one (WeCom)
	Members     []LiveMember `json:"members"`         // includes managers
	Subscribers []LiveMember `json:"subscribers,omitempty"`
	// Info says that the group's name and current notice were read (a full
	// read: Yunzhijia groupInfo); Notice is then the current notice, nil
	// when the group has none. Without Info, Notice says nothing.
	Info   bool    `json:"info,omitempty"`
	Notice *Notice `json:"notice,omitempty"`
}

// GroupInfo is what a vendor says of a group apart from its members
// (Yunzhijia groupInfo): its name, managers and current notice.
type GroupInfo struct {
	ID               string
	Name             string
	Managers         []string
	ParticipantCount int
	Notice           *Notice // the current (latest) notice; nil when there is none
}

// GroupRef is one entry of a user's group list (Lunkr groups/list).
type GroupRef struct {
	ID    string
	Email string
	Name  string
	Type  string // topic, public or sysTopic
	Role  int
}

// CreateRequest describes a group to create.
type CreateRequest struct {
	// Operator is the creator (Yunzhijia currentUid). The Yunzhijia client
	// leaves it out of userIds; Lunkr ignores it.
	Operator    string
	Name        string
	Type        string   // Lunkr group type; empty means topic
	Members     []string // vendor ids of every desired member
	Subscribers []string // Lunkr sysTopic only
	// ID is the id the client chose for the group (Capabilities.ChosenID),
	// journaled before the call; "" lets the vendor choose.
	ID string
	// Owner is the group's owner where the vendor takes one apart from the
	// operator (WeCom); "" means the operator, if any.
	Owner string
}

// GroupUpdate is every change of one group, sent as one call by a vendor
// with Capabilities.OneUpdate. Empty fields change nothing.
type GroupUpdate struct {
	Name   string
	Owner  string
	Add    []string
	Remove []string
}

// Updater is a Client whose vendor changes a group in one call
// (Capabilities.OneUpdate).
type Updater interface {
	Client
	// UpdateGroup sends u as one call; it is idempotent and retried like
	// AddMembers.
	UpdateGroup(ctx context.Context, groupID, operator string, u GroupUpdate) error
}

// IDChooser is a Client that chooses new groups' ids (Capabilities.ChosenID).
type IDChooser interface {
	Client
	// NewGroupID returns a fresh random group id of the vendor's form.
	NewGroupID() (string, error)
}

// Notice is a group notice: the one type the manifest (spec), the plan
// (reconcile) and the clients share. Its JSON form is the plan's.
type Notice struct {
	Title   string `json:"title"`
	Content string `json:"content"`
}

// Banner is a group banner; every field is optional. The one type the
// manifest, the plan and the clients share; its JSON form is the plan's.
type Banner struct {
	Content        string `json:"content,omitempty"`
	Title          string `json:"title,omitempty"`
	LightAppID     string `json:"lightAppId,omitempty"`
	ThumbURL       string `json:"thumbUrl,omitempty"`
	WebpageURL     string `json:"webpageUrl,omitempty"`
	PrimaryContent string `json:"primaryContent,omitempty"`
	ContentURL     string `json:"contentUrl,omitempty"`
}

// Client is what the reconciler needs from a vendor. Every method returns a
// *Error (test it with errors.Is against the Err* kinds) and never an error
// that contains the access token. A method the vendor does not offer (see
// Capabilities) returns ErrUnsupported without a network call.
type Client interface {
	// Capabilities is constant for a vendor.
	Capabilities() Capabilities
	// ReadGroup reads a group's live membership; operator is the currentUid
	// on Yunzhijia and ignored on Lunkr. ErrNotFound means the vendor said the
	// group does not exist; any other error says nothing about existence.
	ReadGroup(ctx context.Context, groupID, operator string) (*Group, error)
	// CreateGroup creates a group and returns its id. It is retried only when
	// the request provably was not made; otherwise a lost answer is
	// ErrUnknownOutcome and the caller must not send it again blindly.
	CreateGroup(ctx context.Context, req CreateRequest) (groupID string, err error)
	// AddMembers adds ids to a group in one call (idempotent, retried).
	AddMembers(ctx context.Context, groupID, operator string, ids []string) error
	// RemoveMembers removes ids from a group in one call (idempotent,
	// retried like AddMembers: removing someone already gone is a no-op).
	RemoveMembers(ctx context.Context, groupID, operator string, ids []string) error
	// ReadGroupInfo reads a group's name, managers and current notice, a
	// second read beside ReadGroup (which alone has the members). Errors
	// as ReadGroup's.
	ReadGroupInfo(ctx context.Context, groupID, operator string) (*GroupInfo, error)
	// PostNotice posts a notice and returns its id; retried like CreateGroup.
	PostNotice(ctx context.Context, groupID, operator string, n Notice) (noticeID string, err error)
	// PostBanner posts a banner and returns its id; retried like CreateGroup.
	PostBanner(ctx context.Context, groupID, operator string, b Banner) (bannerID string, err error)
	// ListGroups lists the groups userID belongs to (Lunkr groups/list).
	ListGroups(ctx context.Context, userID string) ([]GroupRef, error)
}

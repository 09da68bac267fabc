package spec

import (
	"time"

	"groupsync/internal/vendors"
)

// Vendor names a chat vendor groupsync can drive.
type Vendor string

// Lunkr group types.
const (
	TypeTopic    = "topic"
	TypePublic   = "public"
	TypeSysTopic = "sysTopic"
)

// Pos is a place in a manifest file, used in error messages.
type Pos struct {
	File string
	Line int
	Col  int
}

// Manifest is the resolved, validated desired world. Nothing downstream
// re-checks raw YAML: every handle is resolved to a vendor id, every group's
// provider exists, and every vendor rule of SPEC section 2 holds.
type Manifest struct {
	Providers map[string]*Provider // by provider name
	People    map[string]Person    // by handle
	Groups    []*Group             // in file order, then document order
	// Files lists the manifest files read, in the order they were merged.
	Files []string
	// Digest is a hex SHA-256 over the files' names and bytes in merge order;
	// a saved plan records it to detect a changed manifest.
	Digest string
	// HeadsOnly: Heads.Manifest made it, so Groups is empty whatever the files
	// hold. It names the providers of a sealed saved plan, and nothing can
	// be planned from it.
	HeadsOnly bool
}

// Provider is one vendor connection.
type Provider struct {
	Name     string
	Vendor   Vendor
	Endpoint string // base URL ending in '/'; the vendor's default when unset
	// TokenEnv is the environment variable named by `token: ${VAR}`; empty
	// when TokenCommand is used instead. It is resolved only when a command
	// needs the token (see Provider.ResolveToken).
	TokenEnv     string
	TokenCommand []string
	// TokenCommandTimeout bounds one run of TokenCommand; 0 means the
	// default (vendors.DefaultCommandTimeout).
	TokenCommandTimeout time.Duration
	// Auth is the `auth:` block, the app's credentials groupsync gets
	// tokens with; nil when the token comes from token or tokenCommand.
	Auth     *Auth
	Operator string // resolved vendor id; empty when unset
	// OperatorHandle is the people handle the operator was given as, for
	// display; empty when it was a raw id or unset.
	OperatorHandle string
	Workspace      string  // Yunzhijia eid, for message-history links
	RateLimit      float64 // requests per second; 0 means unlimited
	// Prune is the default of its groups' Prune (`prune:` on the provider).
	Prune bool
	// Read says how much a plan reads of each group: ReadFull (the name
	// and current notice as well), or empty for one read of the members
	// (the default, read: members).
	Read ReadMode
	Pos  Pos
}

// ReadMode is how much a plan reads of each group of a provider.
type ReadMode string

// Read modes.
const (
	ReadMembers ReadMode = "members" // one read: the members (the default; stored as "")
	ReadFull    ReadMode = "full"    // Yunzhijia: groupInfo as well, for name and notice drift
)

// Person is one entry of the people directory: handle -> id per vendor.
type Person struct {
	Handle string
	IDs    map[Vendor]string
}

// Member is one resolved member of a group.
type Member struct {
	Handle string // the people handle used in the manifest; empty for a raw id
	ID     string // the vendor id (Yunzhijia uid; Lunkr email or decimal uid)
}

// Label is how a member is shown to a user: "bob (5b6c…)" or the raw id.
func (m Member) Label() string {
	if m.Handle == "" || m.Handle == m.ID {
		return m.ID
	}
	return m.Handle + " (" + m.ID + ")"
}

// Group is one desired group.
type Group struct {
	Key      string
	Provider string
	Vendor   Vendor
	Name     string
	Type     string // Lunkr only: topic (default), public, sysTopic; empty on Yunzhijia
	// Owner is, on Yunzhijia, the effective creator and currentUid of the
	// group's calls: its owner, else its provider's operator (never nil on
	// a valid Yunzhijia group). Nil on Lunkr. Members does not include it
	// implicitly; it may also be listed there.
	Owner *Member
	// Members and Subscribers are shared: every group that lists a person
	// holds the same *Member (a manifest of 10 million memberships holds a
	// pointer each, not two strings). Never modify one through a group.
	Members     []*Member
	Subscribers []*Member // Lunkr sysTopic only
	Notices     []Notice
	Banners     []Banner
	GroupID     string   // pinned vendor group id (adoption); empty when not pinned
	Previously  []string // earlier keys of this group
	// Prune removes live members the manifest does not list (its own
	// prune:, else its provider's). Only on a vendor that can remove.
	Prune bool
	Pos   Pos
}

// Notice is a group notice: the one type the manifest, the plan and the
// vendor clients share.
type Notice = vendors.Notice

// Banner is a group banner; every field is optional. The one type the
// manifest, the plan and the vendor clients share.
type Banner = vendors.Banner

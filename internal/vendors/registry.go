package vendors

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Vendor describes one chat vendor: everything groupsync needs to know of
// it outside its own package. A vendor package declares one (its
// Descriptor) and the registration package registers it; the manifest
// validator, the planner, the command line, the sandbox, `simulate` and the
// test rigs read it from here and never name a vendor themselves.
type Vendor struct {
	// Name is what a manifest's `vendor:` says, and the key of the people
	// directory's ids ("yunzhijia").
	Name string
	// Title is the vendor's name in prose ("Yunzhijia").
	Title string
	// DefaultEndpoint is the production base of the group API, ending in '/'.
	DefaultEndpoint string
	// IDs are the vendor's id rules.
	IDs IDRules
	// Fields are the manifest fields the vendor's groups and providers take.
	Fields Fields
	// Capabilities are what its API can do (constant for a vendor).
	Capabilities Capabilities
	// ReadsName says that the vendor's group read returns the group's name
	// (without it, only a full read has it).
	ReadsName bool
	// Auth is how a token is had from an app's credentials (`auth:`); nil
	// when the vendor takes no auth block (token or tokenCommand only).
	Auth *Auth
	// CreatesPerApply, when positive, is the most groups of the vendor one
	// apply may create (WeCom: 1,000 a day); the plan blocks the creates
	// past it.
	CreatesPerApply int
	// PathRateLimit is the default limit of calls per second to each API
	// path when the provider sets no rateLimit; 0 is none.
	PathRateLimit float64
	// New returns a client that calls through t.
	New func(t *Transport) Client
	// Sim describes the vendor's simulator.
	Sim SimInfo
	// Calls sorts the vendor's wire calls (as its simulator counts them) by
	// kind, for the scale harness's call counts; a call not listed is
	// CallOther.
	Calls map[string]CallKind
}

// IDRules are a vendor's id rules: how a user id and a group id look, in
// what form they are stored, and how two ids compare.
type IDRules struct {
	// Form says in words what a user id looks like, for messages
	// ("a yunzhijia id (24 hexadecimal digits)").
	Form string
	// Normalize reports whether s is a user id and returns its canonical
	// form (the one stored).
	Normalize func(s string) (string, bool)
	// Key is the form in which two canonical ids compare equal; nil means
	// as they are.
	Key func(id string) string
	// GroupForm says in words what a group id looks like ("a decimal number").
	GroupForm string
	// NormalizeGroup reports whether s is a group id and returns its
	// canonical form.
	NormalizeGroup func(s string) (string, bool)
	// HandleClash says that a people handle which is also a user id of this
	// vendor is refused (it would read as either).
	HandleClash bool
}

// CompareKey returns the form of id in which two ids compare equal.
func (r IDRules) CompareKey(id string) string {
	if r.Key == nil {
		return id
	}
	return r.Key(id)
}

// OwnerRule says whether a vendor's groups have an owner and where it comes
// from.
type OwnerRule int

// The owner rules.
const (
	// OwnerNone: the vendor has no owner field (the account behind the token
	// creates the group).
	OwnerNone OwnerRule = iota
	// OwnerOrOperator: the group's owner, else its provider's operator, is
	// the effective owner (the creator and the user writes act as); one of
	// the two is needed.
	OwnerOrOperator
	// OwnerRequired: every group names its owner.
	OwnerRequired
)

// Fields are the manifest fields a vendor takes beyond the common ones
// (key, provider, name, members, groupId, previously, prune).
type Fields struct {
	Owner   OwnerRule
	Notices bool // notices: title (1–40 characters) and content (1–2,000)
	Banners bool // banners
	// Types are the group types `type:` may name; empty when the vendor has
	// none. DefaultType is the type of a group that names none.
	Types       []string
	DefaultType string
	// SubscribersType is the type whose groups take subscribers; "" when
	// the vendor has no subscribers.
	SubscribersType string
	// NameRequired and MembersRequired say that a group the manifest would
	// create needs a name, and at least one member (a group adopted by
	// groupId needs neither).
	NameRequired    bool
	MembersRequired bool
	// NameMaxLen, when positive, is the most characters a group's name may
	// have (WeCom 50).
	NameMaxLen int
	// MembersMin and MembersMax, when positive, bound a group's members,
	// its owner included (WeCom 2 to 2,000); MembersMin holds for a group
	// to create only.
	MembersMin, MembersMax int
	// Workspace says that a provider takes `workspace:` (an id of the
	// tenant, for links).
	Workspace bool
	// Refused says, for a group field the vendor does not take, why, in
	// the words of the validator's message ("lunkr groups have no notices
	// (…): remove them"). A field not taken and not listed is refused with
	// a generic message.
	Refused map[string]string
}

// CallKind is what a wire call does, for call counts.
type CallKind int

// The call kinds.
const (
	CallOther CallKind = iota
	CallRead
	CallCreate
	CallAdd
	CallRemove
	CallPost
)

// SimInfo describes a vendor's simulator for the sandbox, `simulate` and
// the test rigs.
type SimInfo struct {
	// New returns a simulator that accepts token (and, once an app is
	// registered, the tokens its token endpoint issues).
	New func(token string) Simulator
	// AppID is the app id `simulate` registers, under the first id field of
	// Auth; the access token is its secret.
	AppID string
	// TokenLifetime is the lifetime of a token the simulator's token
	// endpoint issues in the sandbox and `simulate`: the vendor's own.
	TokenLifetime time.Duration
	// OriginPaths are paths the simulator serves at the origin rather than
	// under the endpoint's path (Lunkr's token endpoint).
	OriginPaths []string
}

// PinnedGroup is a group a manifest pins by groupId, for a simulator to
// seed as an existing group in the sandbox.
type PinnedGroup struct {
	ID      string
	Name    string
	Type    string
	Owner   string   // the effective owner's id; "" when none
	Members []string // the manifest's member ids
}

// Simulator is what the sandbox, `simulate` and the test rigs need of a
// vendor's simulator; the vendor package's own type offers more (faults,
// test knobs) to its own tests.
type Simulator interface {
	http.Handler
	// SetLatency adds d to every call.
	SetLatency(d time.Duration)
	// RegisterApp makes the token endpoint accept creds (by auth field
	// name) and issue tokens that live lifetime.
	RegisterApp(creds Credentials, lifetime time.Duration)
	// SeedGroup adds a group as the vendor would hold it.
	SeedGroup(g Group)
	// SeedPinned adds a pinned group as an existing group of a real tenant
	// would look (with a member the manifest does not know), unless a group
	// with its id exists.
	SeedPinned(g PinnedGroup)
	// Snapshot and Restore save and load the simulator's world.
	Snapshot() ([]byte, error)
	Restore(data []byte) error
	// Calls counts the calls by wire name since the last ResetCalls.
	Calls() map[string]int
	ResetCalls()
}

// HistoryClient is a Client that can make a link to a group's merged
// message history (Capabilities.History).
type HistoryClient interface {
	Client
	// MergeHistory creates a merged history of the group and returns its id.
	MergeHistory(ctx context.Context, groupID, operator string) (string, error)
	// HistoryURL is the link that shows the merged history mergeID.
	HistoryURL(endpoint, mergeID, workspace string) string
}

var registry struct {
	mu     sync.RWMutex
	byName map[string]*Vendor
	order  []*Vendor
}

// Register adds a vendor. It panics on a second vendor of one name or on a
// descriptor without a name, id rules, client or simulator: registration
// happens at start-up, and a half-described vendor is a programming error.
func Register(v Vendor) {
	if v.Name == "" || v.IDs.Normalize == nil || v.IDs.NormalizeGroup == nil || v.New == nil || v.Sim.New == nil {
		panic(fmt.Sprintf("vendors: register %q: name, id rules, client and simulator are needed", v.Name))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.byName == nil {
		registry.byName = map[string]*Vendor{}
	}
	if _, dup := registry.byName[v.Name]; dup {
		panic(fmt.Sprintf("vendors: %q registered twice", v.Name))
	}
	registry.byName[v.Name] = &v
	registry.order = append(registry.order, &v)
}

// Lookup returns the registered vendor named name.
func Lookup(name string) (*Vendor, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	v, ok := registry.byName[name]
	return v, ok
}

// All returns the registered vendors in registration order.
func All() []*Vendor {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	return slices.Clone(registry.order)
}

// Join writes, in registration order, the vendors for which pick is true
// as name says each, joined by sep ("yunzhijia or lunkr").
func Join(pick func(*Vendor) bool, name func(*Vendor) string, sep string) string {
	var out []string
	for _, v := range All() {
		if pick == nil || pick(v) {
			out = append(out, name(v))
		}
	}
	return strings.Join(out, sep)
}

// Names returns the registered vendors' names in registration order.
func Names() []string {
	var out []string
	for _, v := range All() {
		out = append(out, v.Name)
	}
	return out
}

package yunzhijia

import (
	"strings"
	"time"

	"groupsync/internal/vendors"
)

// Descriptor is Yunzhijia as the vendor registry knows it: the one place
// outside this package that needs to know of Yunzhijia reads it.
var Descriptor = vendors.Vendor{
	Name:            Vendor,
	Title:           "Yunzhijia",
	DefaultEndpoint: DefaultBaseURL,
	IDs: vendors.IDRules{
		Form:           "a yunzhijia id (24 hexadecimal digits)",
		Normalize:      normalizeID,
		GroupForm:      "24 hexadecimal digits",
		NormalizeGroup: normalizeID,
		HandleClash:    true,
	},
	Fields: vendors.Fields{
		Owner:     vendors.OwnerOrOperator,
		Notices:   true,
		Banners:   true,
		Workspace: true,
		Refused: map[string]string{
			"type":        "type is lunkr only (topic, public or sysTopic): remove it from this yunzhijia group",
			"subscribers": "subscribers are lunkr only (sysTopic broadcasts): remove them from this yunzhijia group",
		},
	},
	Capabilities:  Capabilities,
	Auth:          &Auth,
	PathRateLimit: PathRateLimit,
	New:           func(t *vendors.Transport) vendors.Client { return New(t) },
	Sim: vendors.SimInfo{
		New:           func(token string) vendors.Simulator { return simHandle{NewSimulator(token)} },
		AppID:         "10109",
		TokenLifetime: 7200 * time.Second,
	},
	Calls: map[string]vendors.CallKind{
		CallGroupUsers:   vendors.CallRead,
		CallCreateGroup:  vendors.CallCreate,
		CallAddGroupUser: vendors.CallAdd,
		CallDelGroupUser: vendors.CallRemove,
		CallNotice:       vendors.CallPost,
		CallBanner:       vendors.CallPost,
	},
}

// normalizeID returns a Yunzhijia id (user or group: 24 hexadecimal
// digits) in lower case, the form the state holds.
func normalizeID(s string) (string, bool) {
	if !IsID(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// HistoryURL is the package's HistoryURL, for vendors.HistoryClient.
func (c *Client) HistoryURL(endpoint, mergeID, workspace string) string {
	return HistoryURL(endpoint, mergeID, workspace)
}

var _ vendors.HistoryClient = (*Client)(nil)

// sandboxStranger is the member a pinned group has in the sandbox that no
// manifest knows (and its owner when the manifest names none).
const sandboxStranger = "5b90c663e4b0216ee04a768c"

// simHandle is the simulator as vendors.Simulator.
type simHandle struct{ *Simulator }

func (s simHandle) SetLatency(d time.Duration) { s.SetFaults(Faults{Latency: d}) }

func (s simHandle) RegisterApp(creds vendors.Credentials, lifetime time.Duration) {
	s.SetAuth(creds["eid"], creds["secret"], lifetime)
}

// SeedPinned makes the group with its owner as manager and member, and a
// stranger as member.
func (s simHandle) SeedPinned(g vendors.PinnedGroup) {
	if _, ok := s.Group(g.ID); ok {
		return
	}
	owner := sandboxStranger
	if g.Owner != "" {
		owner = g.Owner
	}
	s.SeedGroup(vendors.Group{ID: g.ID, Name: g.Name, Managers: []string{owner},
		Members: []vendors.LiveMember{{ID: owner}, {ID: sandboxStranger}}})
}

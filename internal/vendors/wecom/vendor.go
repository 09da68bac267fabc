package wecom

import (
	"time"

	"groupsync/internal/vendors"
)

// Descriptor is WeCom as the vendor registry knows it.
var Descriptor = vendors.Vendor{
	Name:            Vendor,
	Title:           "WeCom",
	DefaultEndpoint: DefaultBaseURL,
	IDs: vendors.IDRules{
		Form:           "a wecom userid (1–64 letters, digits and _-.@)",
		Normalize:      func(s string) (string, bool) { return s, IsUserID(s) },
		GroupForm:      "a chatid: 1–32 of [0-9a-zA-Z]",
		NormalizeGroup: func(s string) (string, bool) { return s, IsChatID(s) },
	},
	Fields: vendors.Fields{
		Owner:           vendors.OwnerRequired,
		NameRequired:    true,
		MembersRequired: true,
		NameMaxLen:      MaxNameLen,
		MembersMin:      MinMembers,
		MembersMax:      MaxMembers,
		Refused: map[string]string{
			"notices":     "wecom chats have no notices (messages to a chat are another API): remove them or use a yunzhijia provider",
			"banners":     "wecom chats have no banners: remove them or use a yunzhijia provider",
			"type":        "wecom chats have no type: remove type",
			"subscribers": "wecom chats have no subscribers (only members): list them under members or remove them",
		},
	},
	Capabilities:    Capabilities,
	ReadsName:       true,
	Auth:            &Auth,
	CreatesPerApply: CreatesPerDay,
	New:             func(t *vendors.Transport) vendors.Client { return New(t) },
	Sim: vendors.SimInfo{
		New:           func(token string) vendors.Simulator { return simHandle{NewSimulator(token)} },
		AppID:         "ww0123456789abcdef",
		TokenLifetime: TokenLifetime * time.Second,
	},
	Calls: map[string]vendors.CallKind{
		CallGet:    vendors.CallRead,
		CallCreate: vendors.CallCreate,
		CallUpdate: vendors.CallAdd,
	},
}

// simHandle is the simulator as vendors.Simulator.
type simHandle struct{ *Simulator }

func (s simHandle) SetLatency(d time.Duration) { s.SetFaults(Faults{Latency: d}) }

func (s simHandle) RegisterApp(creds vendors.Credentials, lifetime time.Duration) {
	s.SetAuth(creds["corpId"], creds["corpSecret"], lifetime)
}

func (s simHandle) SeedGroup(g vendors.Group) { s.Simulator.SeedGroup(g) }

// SeedPinned makes the chat with its owner and the manifest's first member
// and a member the manifest does not know, as a chat the app made earlier.
func (s simHandle) SeedPinned(g vendors.PinnedGroup) {
	if _, ok := s.Group(g.ID); ok {
		return
	}
	members := []vendors.LiveMember{{ID: "former.member"}}
	if len(g.Members) > 0 {
		members = append(members, vendors.LiveMember{ID: g.Members[0]})
	}
	s.Simulator.SeedGroup(vendors.Group{ID: g.ID, Name: g.Name, Owner: g.Owner, Members: members})
}

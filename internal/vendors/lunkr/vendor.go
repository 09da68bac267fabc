package lunkr

import (
	"strings"
	"time"

	"groupsync/internal/vendors"
)

// Descriptor is Lunkr as the vendor registry knows it: the one place
// outside this package that needs to know of Lunkr reads it.
var Descriptor = vendors.Vendor{
	Name:            Vendor,
	Title:           "Lunkr",
	DefaultEndpoint: DefaultBaseURL,
	IDs: vendors.IDRules{
		Form:      "a lunkr id (an email address or a decimal uid)",
		Normalize: func(s string) (string, bool) { return keep(s, IsUserID(s)) },
		// Emails compare without case; uids are digits.
		Key:            strings.ToLower,
		GroupForm:      "a decimal number",
		NormalizeGroup: func(s string) (string, bool) { return keep(s, IsGroupID(s)) },
	},
	Fields: vendors.Fields{
		Types:           []string{TypeTopic, TypePublic, TypeSysTopic},
		DefaultType:     TypeTopic,
		SubscribersType: TypeSysTopic,
		NameRequired:    true,
		MembersRequired: true,
		Refused: map[string]string{
			"owner":   "lunkr has no owner field (the account behind the token creates the group; a sysTopic's members are its administrators): remove owner",
			"notices": "lunkr groups have no notices (the vendor has no notice API): remove them or use a yunzhijia provider",
			"banners": "lunkr groups have no banners (the vendor has no banner API): remove them or use a yunzhijia provider",
		},
	},
	Capabilities: Capabilities,
	ReadsName:    true,
	Auth:         &Auth,
	New:          func(t *vendors.Transport) vendors.Client { return New(t) },
	Sim: vendors.SimInfo{
		New:           func(token string) vendors.Simulator { return simHandle{NewSimulator(token)} },
		AppID:         "lk-app-1",
		TokenLifetime: 3600 * time.Second,
		OriginPaths:   []string{"/" + CallToken},
	},
	Calls: map[string]vendors.CallKind{
		CallInfo:   vendors.CallRead,
		CallCreate: vendors.CallCreate,
	},
}

// simHandle is the simulator as vendors.Simulator.
type simHandle struct{ *Simulator }

func (s simHandle) SetLatency(d time.Duration) { s.SetFaults(Faults{Latency: d}) }

func (s simHandle) RegisterApp(creds vendors.Credentials, lifetime time.Duration) {
	s.SetAuth(creds["clientId"], creds["clientSecret"], lifetime)
}

func (s simHandle) SeedGroup(g vendors.Group) { s.Simulator.SeedGroup(g) }

// SeedPinned makes the group with the manifest's first member alone (by
// email or uid, as written).
func (s simHandle) SeedPinned(g vendors.PinnedGroup) {
	if _, ok := s.Group(g.ID); ok {
		return
	}
	var members []vendors.LiveMember
	if len(g.Members) > 0 {
		m := vendors.LiveMember{ID: g.Members[0]}
		if strings.Contains(m.ID, "@") {
			m = vendors.LiveMember{Email: m.ID}
		}
		members = append(members, m)
	}
	s.Simulator.SeedGroup(vendors.Group{ID: g.ID, Name: g.Name, Type: g.Type, Members: members})
}

// keep returns s when it is an id (Lunkr ids are kept as written), else "".
func keep(s string, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	return s, true
}

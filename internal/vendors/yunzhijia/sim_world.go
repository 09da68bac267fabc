package yunzhijia

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"groupsync/internal/vendors"
)

// SeedGroup creates group g.ID (replacing any group of that id) with g's
// name, managers and members, as if it had been made outside groupsync.
// Managers are made members too. A group with an empty id is ignored.
func (s *Simulator) SeedGroup(g vendors.Group) {
	if g.ID == "" {
		return
	}
	members := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		members = append(members, m.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addGroupLocked(g.ID, g.Name, g.Managers, members)
}

// Group returns the live group id (Name, Managers and Members filled).
func (s *Simulator) Group(id string) (vendors.Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return vendors.Group{}, false
	}
	return g.public(), true
}

// Groups returns every live group, sorted by id.
func (s *Simulator) Groups() []vendors.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.groups))
	for id := range s.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]vendors.Group, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.groups[id].public())
	}
	return out
}

// RemoveMember takes uid out of the group (and its managers), as a person
// leaving it in the app would.
func (s *Simulator) RemoveMember(groupID, uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok || !g.has(uid) {
		return
	}
	g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == uid })
	g.managers = slices.DeleteFunc(g.managers, func(m string) bool { return m == uid })
}

// AddMember puts uid in the group, as someone adding them in the app would.
func (s *Simulator) AddMember(groupID, uid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok {
		g.add(uid)
	}
}

// DeleteGroup dismisses the group: later calls on it answer errorCode 410.
func (s *Simulator) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[id]; ok {
		delete(s.groups, id)
		s.gone[id] = true
	}
}

// Notices returns the notices posted to the group, oldest first.
func (s *Simulator) Notices(groupID string) []vendors.Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return nil
	}
	out := make([]vendors.Notice, 0, len(g.notices))
	for _, n := range g.notices {
		out = append(out, vendors.Notice{Title: n.Title, Content: n.Content})
	}
	return out
}

// Banners returns the banners posted to the group, oldest first.
func (s *Simulator) Banners(groupID string) []vendors.Banner {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return nil
	}
	out := make([]vendors.Banner, 0, len(g.banners))
	for _, b := range g.banners {
		out = append(out, vendors.Banner(b.bannerParams))
	}
	return out
}

func (g *simGroup) public() vendors.Group {
	out := vendors.Group{ID: g.id, Name: g.name, Managers: slices.Clone(g.managers), Members: make([]vendors.LiveMember, 0, len(g.members))}
	for _, m := range g.members {
		out.Members = append(out.Members, vendors.LiveMember{ID: m})
	}
	return out
}

// worldFile is the snapshot format. Tokens, faults and call counts are not
// part of the world.
type worldFile struct {
	Version   int         `json:"version"`
	Next      uint64      `json:"next"`
	Groups    []groupFile `json:"groups"`
	Dismissed []string    `json:"dismissed,omitempty"`
}

type groupFile struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Managers []string       `json:"managers"`
	Members  []string       `json:"members"`
	Notices  []noticeInfo   `json:"notices,omitempty"`
	Banners  []bannerRecord `json:"banners,omitempty"`
}

const worldVersion = 1

// Snapshot returns the world as JSON: groups (names, managers, members,
// notices, banners), dismissed ids and the id counter; never the tokens.
func (s *Simulator) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := worldFile{Version: worldVersion, Next: s.next, Groups: make([]groupFile, 0, len(s.groups))}
	for _, g := range s.groups {
		w.Groups = append(w.Groups, groupFile{ID: g.id, Name: g.name, Managers: g.managers, Members: g.members, Notices: g.notices, Banners: g.banners})
	}
	sort.Slice(w.Groups, func(i, j int) bool { return w.Groups[i].ID < w.Groups[j].ID })
	for id := range s.gone {
		w.Dismissed = append(w.Dismissed, id)
	}
	sort.Strings(w.Dismissed)
	return json.Marshal(w)
}

// Restore replaces the world with a Snapshot. Tokens, faults and call
// counts are kept. On error the world is unchanged.
func (s *Simulator) Restore(data []byte) error {
	var w worldFile
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("yunzhijia simulator: restore: %w", err)
	}
	if w.Version != worldVersion {
		return fmt.Errorf("yunzhijia simulator: restore: unknown world version %d", w.Version)
	}
	groups := make(map[string]*simGroup, len(w.Groups))
	for _, gf := range w.Groups {
		if gf.ID == "" {
			return fmt.Errorf("yunzhijia simulator: restore: group with empty id")
		}
		if _, dup := groups[gf.ID]; dup {
			return fmt.Errorf("yunzhijia simulator: restore: group %s twice", gf.ID)
		}
		g := &simGroup{id: gf.ID, name: gf.Name, notices: gf.Notices, banners: gf.Banners}
		g.fill(gf.Managers, gf.Members)
		groups[gf.ID] = g
	}
	gone := make(map[string]bool, len(w.Dismissed))
	for _, id := range w.Dismissed {
		gone[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups, s.gone, s.next = groups, gone, w.Next
	return nil
}

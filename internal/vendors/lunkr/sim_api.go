package lunkr

import (
	"maps"
	"slices"
	"strings"
	"time"

	"groupsync/internal/vendors"
)

// This file is the simulator's side door for tests, benchmarks and the
// sandbox: seeding and inspecting the world, counting calls, saving and
// restoring the world.

// SetNow replaces the simulator's clock (createTime of new groups).
func (s *Simulator) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Calls returns how many requests each call received, faulted ones
// included, by call name ("groups/info", "groups/create", "groups/list"; an
// unknown path under its own name).
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// ResetCalls sets every call count back to zero.
func (s *Simulator) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

// AddUser adds a directory entry, or updates the name (and an unused email)
// of the user with that uid. With no uid, the user with that email is
// updated, or one is added under a new uid.
func (s *Simulator) AddUser(uid, email, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seedUser(vendors.LiveMember{ID: uid, Email: email, Name: name})
}

// seedUser registers m (by uid and/or email) and returns its uid, or ""
// when m names nobody.
func (s *Simulator) seedUser(m vendors.LiveMember) string {
	uid, email := strings.TrimSpace(m.ID), strings.TrimSpace(m.Email)
	if strings.Contains(uid, "@") && email == "" {
		uid, email = "", uid
	}
	switch {
	case uid != "":
		return s.world.addUser(uid, email, m.Name).UID
	case email != "":
		if u := s.world.lookup(email); u != nil {
			return s.world.addUser(u.UID, "", m.Name).UID
		}
		return s.world.addUser(s.world.newUserID(), email, m.Name).UID
	}
	return ""
}

// SeedGroup puts g in the world as if it had been created, and returns its
// id: g.ID, or a new one when g.ID is empty or a user's uid. A group with
// the same id is replaced. Members and subscribers are registered by ID
// (uid) and/or Email; Type defaults to topic and CreateTime to now.
func (s *Simulator) SeedGroup(g vendors.Group) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strings.TrimSpace(g.ID)
	if _, isUser := s.world.users[id]; id == "" || isUser {
		id = s.world.newGroupID()
	}
	s.world.deleteGroup(id)
	sg := &simGroup{ID: id, Name: g.Name, Type: g.Type, CreateTime: g.CreateTime}
	s.world.groups[id] = sg // reserve the id while members are registered
	if sg.Type == "" {
		sg.Type = TypeTopic
	}
	if sg.CreateTime == 0 {
		sg.CreateTime = s.now().UnixMilli()
	}
	var members, subscribers []string
	for _, m := range g.Members {
		if uid := s.seedUser(m); uid != "" {
			members = append(members, uid)
		}
	}
	for _, m := range g.Subscribers {
		if uid := s.seedUser(m); uid != "" {
			subscribers = append(subscribers, uid)
		}
	}
	s.world.addGroup(sg, members, subscribers)
	return id
}

// Group returns the group with that id as the client's ReadGroup reads it.
func (s *Simulator) Group(id string) (vendors.Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.world.groups[id]
	if g == nil {
		return vendors.Group{}, false
	}
	return s.world.group(g), true
}

// Groups returns every group, ordered by numeric id.
func (s *Simulator) Groups() []vendors.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	gs := slices.SortedFunc(maps.Values(s.world.groups), compareGroups)
	out := make([]vendors.Group, 0, len(gs))
	for _, g := range gs {
		out = append(out, s.world.group(g))
	}
	return out
}

// AddMember adds a user (a uid or an email, registered if new) to a group
// behind the API's back, as a person would in the Lunkr app.
func (s *Simulator) AddMember(groupID, emailOrUID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.world.groups[groupID]
	if g == nil {
		return
	}
	uid := s.seedUser(vendors.LiveMember{ID: emailOrUID})
	if uid != "" {
		s.world.join(g, uid, roleMember)
	}
}

// RemoveMember removes a member or subscriber from a group behind the API's
// back.
func (s *Simulator) RemoveMember(groupID, emailOrUID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, u := s.world.groups[groupID], s.world.lookup(emailOrUID)
	if g != nil && u != nil {
		s.world.leave(g, u.UID)
	}
}

// DeleteGroup removes a group behind the API's back (it then answers 20201).
func (s *Simulator) DeleteGroup(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.world.deleteGroup(id)
}

// Snapshot returns the world (users, groups, id counters) as JSON; not the
// tokens, faults, knobs or call counts.
func (s *Simulator) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.world.marshal()
}

// Restore replaces the world with one saved by Snapshot. A snapshot that
// does not hold together is refused and the world left as it was.
func (s *Simulator) Restore(data []byte) error {
	w, err := unmarshalWorld(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.world = w
	return nil
}

package state

import "groupsync/internal/vendors"

// interner makes equal strings of decoded reads share one copy: ten
// thousand cached groups of 200 members hold two million member ids drawn
// from a few thousand people, each otherwise its own allocation. It is not
// safe for concurrent use.
type interner map[string]string

func (in interner) str(s string) string {
	if s == "" {
		return s
	}
	if c, ok := in[s]; ok {
		return c
	}
	in[s] = s
	return s
}

func (in interner) members(ms []vendors.LiveMember) {
	for i := range ms {
		m := &ms[i]
		m.ID, m.Email, m.Name = in.str(m.ID), in.str(m.Email), in.str(m.Name)
	}
}

// group interns the strings of g that repeat across groups.
func (in interner) group(g *vendors.Group) {
	in.members(g.Members)
	in.members(g.Subscribers)
	for i, id := range g.Managers {
		g.Managers[i] = in.str(id)
	}
}

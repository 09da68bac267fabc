package reconcile

import "groupsync/internal/vendors"

// interner makes equal strings of live reads share one copy: a plan of
// 10,000 groups x 200 members reads two million member ids drawn from a
// few thousand people, and each decoded id is otherwise its own allocation
// kept for the whole plan. It is not safe for concurrent use.
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

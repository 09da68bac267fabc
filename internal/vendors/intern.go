package vendors

// Interner makes equal strings of live reads share one copy: ten thousand
// groups of 200 members hold two million member ids drawn from a few
// thousand people, and each decoded id is otherwise its own allocation.
// The zero value is not usable: make one with Interner{}. It is not safe for
// concurrent use.
type Interner map[string]string

// String returns the shared copy of s.
func (in Interner) String(s string) string {
	if s == "" {
		return s
	}
	if c, ok := in[s]; ok {
		return c
	}
	in[s] = s
	return s
}

// Members interns the ids, emails and names of ms in place.
func (in Interner) Members(ms []LiveMember) {
	for i := range ms {
		m := &ms[i]
		m.ID, m.Email, m.Name = in.String(m.ID), in.String(m.Email), in.String(m.Name)
	}
}

// Group interns the strings of g that repeat across groups, in place.
func (in Interner) Group(g *Group) {
	in.Members(g.Members)
	in.Members(g.Subscribers)
	for i, id := range g.Managers {
		g.Managers[i] = in.String(id)
	}
}

package export

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

// maxSlug bounds a key made from a name, leaving room for a suffix within
// the 100 characters a key may have.
const maxSlug = 60

// build turns the live groups into the groups and people to write: keys
// made unique, members named by the manifest's handles where it has them,
// new people for members with an email, raw ids otherwise.
func build(res *Result, lives []live) {
	o, p := res.opts, res.provider
	m := o.Manifest
	v := p.Vendor
	slices.SortFunc(lives, func(a, b live) int {
		return cmp.Or(strings.Compare(a.group.Name, b.group.Name), strings.Compare(a.group.ID, b.group.ID))
	})

	// What the manifest already has: keys (and previously keys), the groups
	// it manages, the handles it uses.
	taken := map[string]bool{}
	manifestKeys := map[string]bool{}
	managed := map[string]bool{}
	for _, g := range m.Groups {
		taken[g.Key], manifestKeys[g.Key] = true, true
		for _, k := range g.Previously {
			taken[k], manifestKeys[k] = true, true
		}
		if g.Provider == p.Name && g.GroupID != "" {
			managed[g.GroupID] = true
		}
	}
	boundKey := map[string]string{} // group id -> a key bound to it outside the manifest
	for key, b := range o.Bindings {
		taken[key] = true
		if b.Provider != p.Name {
			continue
		}
		if manifestKeys[key] {
			managed[b.GroupID] = true
		} else if k, ok := boundKey[b.GroupID]; !ok || key < k {
			boundKey[b.GroupID] = key
		}
	}
	kept := lives[:0]
	for _, l := range lives {
		if managed[l.group.ID] && o.SkipManaged {
			res.Skipped++
			continue
		}
		kept = append(kept, l)
	}
	names := newNamer(m, v)
	names.prepare(kept)

	for _, l := range kept {
		g := l.group
		isManaged := managed[g.ID]
		out := Group{GroupID: g.ID, Name: g.Name, Managed: isManaged}
		if isManaged {
			res.Managed++
		}
		// A key the state already binds to this group (and the manifest
		// does not use) is kept: the plan then finds the binding as it is.
		if k, ok := boundKey[g.ID]; ok && !isManaged {
			delete(taken, k)
			out.Key = uniqueKey(k, g.ID, taken)
		} else {
			out.Key = uniqueKey(slug(g.Name, g.ID), g.ID, taken)
		}
		if spec.FieldAllowed(v, "type") {
			out.Type = g.Type
		}
		ownerID := ""
		if spec.FieldAllowed(v, "owner") {
			ownerID = pickOwner(g, l.operator)
			if ownerID != "" {
				out.Owner = names.of(vendors.LiveMember{ID: ownerID})
			}
		}
		for _, mem := range g.Members {
			if ownerID != "" && mem.ID == ownerID {
				continue
			}
			out.Members = append(out.Members, names.of(mem))
		}
		if spec.FieldAllowed(v, "subscribers") {
			for _, s := range g.Subscribers {
				out.Subscribers = append(out.Subscribers, names.of(s))
			}
		}
		out.Members = sortedUnique(out.Members)
		out.Subscribers = sortedUnique(out.Subscribers)
		res.Groups = append(res.Groups, out)
	}
	res.People = names.people(o.WithProviders, p)
}

// pickOwner chooses a group's owner among its managers: the id the read
// acted as when it is one, else the first manager; with no manager, the
// id the read acted as (a member, since the vendor let it read).
func pickOwner(g *vendors.Group, operator string) string {
	if operator != "" && slices.Contains(g.Managers, operator) {
		return operator
	}
	for _, m := range g.Managers {
		if m != "" {
			return m
		}
	}
	return operator
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// slug makes a key from a group's name: its ASCII letters and digits in
// lower case, every other run of characters one '-'. A name with none (a
// Chinese name) gives group-<short id>.
func slug(name, id string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > maxSlug {
		// Cut between words where there is a word break.
		cut := s[:maxSlug+1]
		if i := strings.LastIndexByte(cut, '-'); i > 0 {
			s = cut[:i]
		} else {
			s = s[:maxSlug]
		}
	}
	if s == "" {
		return "group-" + shortID(id)
	}
	return s
}

// shortID is the end of a group id, which varies most between groups (a
// Yunzhijia id starts with a timestamp).
func shortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[len(id)-6:]
}

// uniqueKey returns base, or base-<short id> (then with -2, -3 ...) when
// base is taken, and marks the result taken.
func uniqueKey(base, id string, taken map[string]bool) string {
	key := base
	if taken[key] {
		stem := base
		if !strings.HasSuffix(base, shortID(id)) {
			stem = base + "-" + shortID(id)
		}
		key = stem
		for n := 2; taken[key]; n++ {
			key = stem + "-" + strconv.Itoa(n)
		}
	}
	taken[key] = true
	return key
}

// namer names members: by the manifest's handle for their id, else by a new
// people entry for an email, else by their raw id.
type namer struct {
	v       spec.Vendor
	byID    map[string]string      // IDKey of a vendor id -> manifest handle
	handles map[string]bool        // handles taken
	dir     map[string]spec.Person // the manifest's people
	used    map[string]bool        // manifest handles the export used
	added   map[string]string      // IDKey of an email -> new handle
	emails  map[string]string      // new handle -> email as read
}

func newNamer(m *spec.Manifest, v spec.Vendor) *namer {
	n := &namer{v: v, byID: map[string]string{}, handles: map[string]bool{}, dir: m.People,
		used: map[string]bool{}, added: map[string]string{}, emails: map[string]string{}}
	for h, p := range m.People {
		n.handles[h] = true
		if id, ok := p.IDs[v]; ok {
			n.byID[spec.IDKey(v, id)] = h
		}
	}
	return n
}

// prepare gives a handle to every email of the groups that the manifest
// does not know, in the order of the emails, so that the handles do not
// depend on the order the vendor lists members in.
func (n *namer) prepare(lives []live) {
	first := map[string]string{} // IDKey -> email as first read
	for _, l := range lives {
		for _, m := range slices.Concat(l.group.Members, l.group.Subscribers) {
			if n.known(m) != "" {
				continue
			}
			if email, ok := spec.UserID(n.v, m.Email); ok && strings.Contains(email, "@") {
				k := spec.IDKey(n.v, email)
				if _, seen := first[k]; !seen {
					first[k] = email
				}
			}
		}
	}
	keys := slices.Sorted(maps.Keys(first))
	for _, k := range keys {
		h := n.newHandle(first[k])
		n.added[k] = h
	}
}

// known returns the manifest's handle of member, or "".
func (n *namer) known(member vendors.LiveMember) string {
	for _, id := range []string{member.ID, member.Email} {
		if id == "" {
			continue
		}
		if h, ok := n.byID[spec.IDKey(n.v, id)]; ok {
			return h
		}
	}
	return ""
}

// of returns how member is written.
func (n *namer) of(member vendors.LiveMember) string {
	if h := n.known(member); h != "" {
		n.used[h] = true
		return h
	}
	if email, ok := spec.UserID(n.v, member.Email); ok {
		if h, ok := n.added[spec.IDKey(n.v, email)]; ok {
			if _, written := n.emails[h]; !written {
				n.emails[h] = email
			}
			return h
		}
	}
	if id, ok := spec.UserID(n.v, member.ID); ok {
		return id
	}
	// An id the manifest would refuse: written as read, so that the
	// validator names it rather than export hiding a member.
	return cmp.Or(member.ID, member.Email)
}

// newHandle makes a handle from an email's local part, unique among the
// manifest's handles and those made before.
func (n *namer) newHandle(email string) string {
	local, domain, _ := strings.Cut(email, "@")
	base := handleFrom(local)
	h := base
	if n.handles[h] {
		label, _, _ := strings.Cut(domain, ".")
		h = base + "-" + handleFrom(label)
		for i := 2; n.handles[h] || !spec.ValidHandle(h); i++ {
			h = base + "-" + strconv.Itoa(i)
		}
	}
	n.handles[h] = true
	return h
}

// handleFrom makes a handle of s: in lower case (mailboxes hardly ever
// tell case apart), letters, digits, '.', '_' and '-' kept, anything else
// '-', starting with a letter, at most 40 characters.
func handleFrom(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	h := b.String()
	if r := []rune(h); len(r) > 40 {
		h = string(r[:40])
	}
	if h == "" || !unicode.IsLetter([]rune(h)[0]) {
		h = "u" + h
	}
	if !spec.ValidHandle(h) {
		// 24 hexadecimal digits read as a Yunzhijia id.
		h = "u-" + h
	}
	return h
}

// people returns the entries to write, by handle: the new ones, and with
// all the manifest's the export used (the operator's too), so that the
// output stands alone.
func (n *namer) people(all bool, p *spec.Provider) []Person {
	var out []Person
	for h, email := range n.emails {
		out = append(out, Person{Handle: h, IDs: map[spec.Vendor]string{n.v: email}})
	}
	if all {
		if p.OperatorHandle != "" {
			n.used[p.OperatorHandle] = true
		}
		for h := range n.used {
			if person, ok := n.dir[h]; ok {
				out = append(out, Person{Handle: h, IDs: person.IDs})
			}
		}
	}
	slices.SortFunc(out, func(a, b Person) int { return strings.Compare(a.Handle, b.Handle) })
	return out
}

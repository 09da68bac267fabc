package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// builder merges decoded documents into a Manifest, applying every rule
// that spans fields, files or vendors. Like the decoder it records problems
// and goes on; it avoids follow-on errors (a group whose provider is
// unknown gets no vendor checks, a person whose id was bad is no "unknown
// handle").
type builder struct {
	errs *ErrorList
	m    *Manifest

	rawProviders map[string]*rawProvider
	personPos    map[string]Pos
	badPersonID  map[string]bool       // handle+"/"+vendor: given but invalid
	personIDs    map[string]*rawPerson // vendor+"/"+idKey: who has that id
	keys         map[string]Pos        // live group key -> where defined
	claims       map[string]claim      // previously key -> who claims it
	groupIDs     map[string]claim      // provider+"/"+groupId -> who pins it
	// resolveAll's: handles resolved, the slots of ids, the list a slot
	// was last seen in and where (see slot).
	resolved map[Vendor]map[string]resolvedMember
	slotOf   map[string]int
	mark     []uint32
	at       []int
	gen      uint32
}

// claim is a key or id that a group has taken, and where.
type claim struct {
	group string
	pos   Pos
}

func build(docs []*rawDoc, errs *ErrorList) *Manifest {
	b := newBuilder(errs)
	b.heads(docs)
	for _, doc := range docs {
		for _, g := range doc.groups {
			b.addGroup(g)
		}
		if doc.lazy != nil {
			doc.lazy.each(b.addGroup)
		}
	}
	b.checkPreviously()
	return b.m
}

func newBuilder(errs *ErrorList) *builder {
	return &builder{
		errs:         errs,
		m:            &Manifest{Providers: map[string]*Provider{}, People: map[string]Person{}},
		rawProviders: map[string]*rawProvider{},
		personPos:    map[string]Pos{},
		badPersonID:  map[string]bool{},
		personIDs:    map[string]*rawPerson{},
		keys:         map[string]Pos{},
		claims:       map[string]claim{},
		groupIDs:     map[string]claim{},
	}
}

// heads adds what the groups are checked against: every document's
// version, providers and people.
func (b *builder) heads(docs []*rawDoc) {
	for _, doc := range docs {
		b.version(doc)
		for _, p := range doc.providers {
			b.addProvider(p)
		}
		for _, p := range doc.people {
			b.addPerson(p)
		}
	}
	for _, p := range b.m.Providers {
		b.resolveOperator(p)
	}
}

// version enforces version: 1 in every document that has content, so that
// a file can always be read on its own and a future version 2 file is never
// merged into a version 1 manifest by accident.
func (b *builder) version(doc *rawDoc) {
	v := doc.version
	switch {
	case v == nil:
		b.errs.add(doc.pos, "missing version: add version: 1 at the top of the file")
	case v.Kind != yaml.ScalarNode:
		b.errs.add(Pos{doc.pos.File, v.Line, v.Column}, "version must be 1, not %s", kindName(v))
	case v.Tag != "!!int":
		b.errs.add(Pos{doc.pos.File, v.Line, v.Column}, "version must be the integer 1, written without quotes")
	case v.Value != "1":
		b.errs.add(Pos{doc.pos.File, v.Line, v.Column}, "unsupported version %s: this groupsync reads version 1", v.Value)
	}
}

// checkPreviously refuses a previously key that is also a live key.
func (b *builder) checkPreviously() {
	for key, c := range b.claims {
		if live, ok := b.keys[key]; ok {
			b.errs.add(c.pos, "%s: previously key %q is a live group key (defined at %s): a key cannot be both, remove one", c.group, key, live)
		}
	}
}

// resolve turns a handle or raw id into a member of vendor v. what prefixes
// the error ("group x: member").
func (b *builder) resolve(v Vendor, s scalar, what string) (*Member, bool) {
	if person, ok := b.m.People[s.val]; ok {
		if id, ok := person.IDs[v]; ok {
			return &Member{Handle: s.val, ID: id}, true
		}
		if !b.badPersonID[s.val+"/"+string(v)] {
			b.errs.add(s.pos, "%s: %s has no %s id in people: add one, or write the %s id itself", what, s.val, v, v)
		}
		return nil, false
	}
	if id, ok := normalizeID(v, s.val); ok {
		return &Member{ID: id}, true
	}
	b.errs.add(s.pos, "%s: unknown handle %q: not in people and not %s", what, s.val, idForm(v))
	return nil, false
}

// resolveAll resolves a list of handles or ids and refuses duplicates.
func (b *builder) resolveAll(v Vendor, items []scalar, what string) []*Member {
	out := make([]*Member, 0, len(items))
	if b.resolved == nil {
		b.resolved = map[Vendor]map[string]resolvedMember{}
		b.slotOf = map[string]int{}
	}
	cache := b.resolved[v]
	if cache == nil {
		cache = map[string]resolvedMember{}
		b.resolved[v] = cache
	}
	b.gen++
	for i, s := range items {
		r, ok := cache[s.val]
		if !ok {
			m, ok := b.resolve(v, s, what)
			if !ok {
				continue
			}
			// A handle or an id resolves alike in every group: every list
			// that names it shares one Member.
			r = resolvedMember{m: m, slot: b.slot(v, m.ID)}
			cache[s.val] = r
		}
		if b.mark[r.slot] == b.gen {
			prev := items[b.at[r.slot]]
			b.errs.add(s.pos, "%s %q is listed twice%s (first at %s)", what, s.val, sameAs(prev.val, s.val), prev.pos)
			continue
		}
		b.mark[r.slot], b.at[r.slot] = b.gen, i
		out = append(out, r.m)
	}
	return out
}

// resolvedMember is a handle resolved once for every list it is in, with
// the slot of its id (see slot).
type resolvedMember struct {
	m    *Member
	slot int
}

// slot numbers the distinct ids of vendor v (as idKey compares them), so
// that resolveAll finds a list's duplicates by index: mark[slot] is the
// list (gen) that last held the id, at[slot] where in it.
func (b *builder) slot(v Vendor, id string) int {
	k := string(v) + "/" + idKey(v, id)
	n, ok := b.slotOf[k]
	if !ok {
		n = len(b.mark)
		b.slotOf[k] = n
		b.mark = append(b.mark, 0)
		b.at = append(b.at, 0)
	}
	return n
}

func sameAs(prev, cur string) string {
	if strings.EqualFold(prev, cur) {
		return ""
	}
	return ": it is also " + `"` + prev + `"`
}

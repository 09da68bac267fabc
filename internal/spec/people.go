package spec

import "groupsync/internal/vendors"

// addPerson validates one entry of the people directory: its handle, and an
// id per vendor that looks like an id of that vendor and is nobody else's.
func (b *builder) addPerson(r *rawPerson) {
	h := r.handle.val
	if first, dup := b.personPos[h]; dup {
		b.errs.add(r.handle.pos, "duplicate person %q (first defined at %s)", h, first)
		return
	}
	b.personPos[h] = r.handle.pos
	switch {
	case !handleRE.MatchString(h):
		b.errs.add(r.handle.pos, "handle %q is not valid: use %s", h, handleForm)
	default:
		for _, d := range vendors.All() {
			if _, ok := d.IDs.Normalize(h); ok && d.IDs.HandleClash {
				b.errs.add(r.handle.pos, "handle %q looks like a %s id: pick a name", h, d.Name)
				break
			}
		}
	}
	person := Person{Handle: h, IDs: map[Vendor]string{}}
	for _, v := range Vendors() {
		s, given := r.ids[v]
		if !given {
			continue
		}
		if id, ok := b.personID(r, v, s); ok {
			person.IDs[v] = id
		} else {
			b.badPersonID[h+"/"+string(v)] = true
		}
	}
	if !r.given {
		b.errs.add(r.handle.pos, "person %s: needs a %s id", h, vendorNames())
	}
	b.m.People[h] = person
}

// personID checks one id of a person and that no other person has it.
func (b *builder) personID(r *rawPerson, v Vendor, s scalar) (string, bool) {
	id, ok := normalizeID(v, s.val)
	if !ok {
		b.errs.add(s.pos, "person %s: %q is not %s", r.handle.val, s.val, idForm(v))
		return "", false
	}
	k := string(v) + "/" + idKey(v, id)
	if other, dup := b.personIDs[k]; dup {
		b.errs.add(s.pos, "person %s: %s id %s is also %s's (at %s): one id, one person", r.handle.val, v, s.val, other.handle.val, other.ids[v].pos)
		return "", false
	}
	b.personIDs[k] = r
	return id, true
}

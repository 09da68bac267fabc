package spec

import (
	"fmt"
	"unicode/utf8"
)

// groupCheck is one group being validated: its raw form, the model being
// filled, and its label for messages ("group release-crew").
type groupCheck struct {
	r     *rawGroup
	g     *Group
	label string
	p     *Provider // nil when the provider is missing or unknown
}

// addGroup validates one group and appends it to the manifest.
func (b *builder) addGroup(r *rawGroup) {
	c := &groupCheck{r: r, g: &Group{Pos: r.pos}, label: "this group"}
	b.groupKey(c)
	b.groupProvider(c)
	b.groupCommon(c)
	if c.p != nil && c.p.Vendor != "" {
		c.g.Provider, c.g.Vendor = c.p.Name, c.p.Vendor
		if d, ok := lookup(c.p.Vendor); ok {
			b.vendorGroup(c, d)
		}
		c.g.Members = b.resolveAll(c.p.Vendor, r.members, c.label+": member")
		if d, ok := lookup(c.p.Vendor); ok {
			b.vendorLimits(c, d)
		}
		b.groupID(c)
		b.groupPrune(c)
	}
	b.m.Groups = append(b.m.Groups, c.g)
}

func (b *builder) groupKey(c *groupCheck) {
	k := c.r.key
	switch {
	case !k.set:
		if _, given := c.r.fields["key"]; !given && !c.r.merged {
			b.errs.add(c.r.pos, "group needs a key: a stable name in this repository, e.g. key: release-crew")
		}
		return
	case !keyRE.MatchString(k.val):
		b.errs.add(k.pos, "group key %q is not valid: use %s", k.val, keyForm)
		return
	}
	c.g.Key, c.label = k.val, "group "+k.val
	if first, dup := b.keys[k.val]; dup {
		b.errs.add(k.pos, "duplicate group key %q (first defined at %s)", k.val, first)
		return
	}
	b.keys[k.val] = k.pos
}

func (b *builder) groupProvider(c *groupCheck) {
	s := c.r.provider
	if !s.set {
		if _, given := c.r.fields["provider"]; !given && !c.r.merged {
			b.errs.add(c.r.pos, "%s: needs a provider", c.label)
		}
		return
	}
	p, ok := b.m.Providers[s.val]
	if !ok {
		b.errs.add(s.pos, "%s: unknown provider %q: define it under providers", c.label, s.val)
		return
	}
	c.p = p
}

// groupCommon checks what does not depend on the vendor: name and
// previously.
func (b *builder) groupCommon(c *groupCheck) {
	if n := c.r.name; n.set {
		if n.val == "" {
			b.errs.add(n.pos, "%s: name is empty: give a name or remove it", c.label)
		}
		c.g.Name = n.val
	}
	for _, s := range c.r.previously {
		if !keyRE.MatchString(s.val) {
			b.errs.add(s.pos, "%s: previously key %q is not valid: use %s", c.label, s.val, keyForm)
			continue
		}
		if first, dup := b.claims[s.val]; dup {
			b.errs.add(s.pos, "%s: previously key %q is already claimed by %s (at %s)", c.label, s.val, first.group, first.pos)
			continue
		}
		b.claims[s.val] = claim{group: c.label, pos: s.pos}
		c.g.Previously = append(c.g.Previously, s.val)
	}
}

// groupID checks a pinned group id's form and that no other group of the
// same provider pins it.
func (b *builder) groupID(c *groupCheck) {
	s := c.r.groupID
	if !s.set {
		return
	}
	id, ok := normalizeGroupID(c.p.Vendor, s.val)
	if !ok {
		b.errs.add(s.pos, "%s: groupId %q is not a %s group id (%s)", c.label, s.val, c.p.Vendor, groupIDForm(c.p.Vendor))
		return
	}
	k := c.p.Name + "/" + id
	if first, dup := b.groupIDs[k]; dup {
		b.errs.add(s.pos, "%s: groupId %s is also pinned by %s (at %s)", c.label, id, first.group, first.pos)
		return
	}
	b.groupIDs[k] = claim{group: c.label, pos: s.pos}
	c.g.GroupID = id
}

func groupIDForm(v Vendor) string {
	if d, ok := lookup(v); ok {
		return d.IDs.GroupForm
	}
	return "an id of " + string(v)
}

// runeLen checks that s holds between 1 and max characters.
func (b *builder) runeLen(s scalar, at Pos, what string, max int) bool {
	n := utf8.RuneCountInString(s.val)
	switch {
	case !s.set:
		b.errs.add(at, "%s is missing (1–%d characters)", what, max)
	case n == 0:
		b.errs.add(s.pos, "%s is empty (1–%d characters)", what, max)
	case n > max:
		b.errs.add(s.pos, "%s has %d characters: at most %d are allowed", what, n, max)
	default:
		return true
	}
	return false
}

func (c *groupCheck) what(format string, args ...any) string {
	return c.label + ": " + fmt.Sprintf(format, args...)
}

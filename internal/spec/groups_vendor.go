package spec

import (
	"slices"
	"strings"
	"unicode/utf8"

	"groupsync/internal/vendors"
)

// vendorGroup applies the rules of the group's vendor, as its descriptor
// declares them: the fields it takes (an owner, notices and banners within
// the vendor's limits, a type, subscribers), what a group to create needs,
// and no field it does not take.
func (b *builder) vendorGroup(c *groupCheck, d *vendors.Vendor) {
	f := d.Fields
	b.refuse(c, d)
	if f.Owner != vendors.OwnerNone {
		b.owner(c, f.Owner)
	}
	if f.Notices {
		b.notices(c)
	}
	if f.Banners {
		b.banners(c)
	}
	if len(f.Types) > 0 {
		b.groupType(c, d)
	}
	if _, pinned := c.r.fields["groupId"]; pinned {
		return
	}
	if _, given := c.r.fields["name"]; !given && f.NameRequired {
		b.errs.add(c.r.pos, "%s: a %s group needs a name (or a groupId to adopt an existing group)", c.label, d.Name)
	}
	if c.r.memberItems == 0 && f.MembersRequired {
		b.errs.add(c.r.pos, "%s: a %s group needs at least one member (or a groupId to adopt an existing group)", c.label, d.Name)
	}
}

// vendorLimits checks the group's name length and member count against
// the vendor's limits (the owner counts as a member); the least members
// hold for a group to create, not one adopted by groupId.
func (b *builder) vendorLimits(c *groupCheck, d *vendors.Vendor) {
	f := d.Fields
	if f.NameMaxLen > 0 && c.r.name.set {
		if n := utf8.RuneCountInString(c.r.name.val); n > f.NameMaxLen {
			b.errs.add(c.r.name.pos, "%s: name has %d characters: a %s group's name has at most %d", c.label, n, d.Name, f.NameMaxLen)
		}
	}
	if f.MembersMin <= 0 && f.MembersMax <= 0 || c.r.memberItems != len(c.g.Members) {
		return // a member that did not resolve is reported already
	}
	ids := map[string]bool{}
	for _, m := range c.g.Members {
		ids[m.ID] = true
	}
	if c.g.Owner != nil {
		ids[c.g.Owner.ID] = true
	}
	at := c.r.pos
	if pos, given := c.r.fields["members"]; given {
		at = pos
	}
	_, pinned := c.r.fields["groupId"]
	switch n := len(ids); {
	case f.MembersMax > 0 && n > f.MembersMax:
		b.errs.add(at, "%s: %d members (owner included): a %s group has at most %d", c.label, n, d.Name, f.MembersMax)
	case f.MembersMin > 0 && n < f.MembersMin && !pinned && c.r.memberItems > 0:
		b.errs.add(at, "%s: %d member(s) (owner included): a %s group has at least %d", c.label, n, d.Name, f.MembersMin)
	}
}

// takes reports whether the vendor's groups take a vendor-specific field.
func takes(f vendors.Fields, field string) bool {
	switch field {
	case "owner":
		return f.Owner != vendors.OwnerNone
	case "notices":
		return f.Notices
	case "banners":
		return f.Banners
	case "type":
		return len(f.Types) > 0
	case "subscribers":
		return f.SubscribersType != ""
	}
	return true
}

// vendorFields are the group fields some vendors take and others do not.
var vendorFields = []string{"owner", "notices", "banners", "type", "subscribers"}

// refuse reports each field of c its vendor does not take, with why.
func (b *builder) refuse(c *groupCheck, d *vendors.Vendor) {
	for _, field := range vendorFields {
		pos, given := c.r.fields[field]
		if !given || takes(d.Fields, field) {
			continue
		}
		why, ok := d.Fields.Refused[field]
		if !ok {
			why = d.Name + " groups have no " + field + ": remove it"
		}
		b.errs.add(pos, "%s: %s", c.label, why)
	}
}

// owner sets the effective owner: the group's owner, else (when the
// vendor allows) the provider's operator.
func (b *builder) owner(c *groupCheck, rule vendors.OwnerRule) {
	if _, given := c.r.fields["owner"]; given {
		if c.r.owner.set {
			if m, ok := b.resolve(c.p.Vendor, c.r.owner, c.label+": owner"); ok {
				c.g.Owner = m
			}
		}
		return
	}
	if rule == vendors.OwnerRequired {
		b.errs.add(c.r.pos, "%s: needs an owner (a %s group names its owner)", c.label, c.p.Vendor)
		return
	}
	if c.p.Operator != "" {
		c.g.Owner = &Member{Handle: c.p.OperatorHandle, ID: c.p.Operator}
		return
	}
	if _, given := b.rawProviders[c.p.Name].fields["operator"]; !given {
		b.errs.add(c.r.pos, "%s: needs an owner, or an operator on provider %s", c.label, c.p.Name)
	}
}

func (b *builder) notices(c *groupCheck) {
	first := map[Notice]Pos{}
	for _, r := range c.r.notices {
		okT := b.runeLen(r.title, r.pos, c.what("notice title"), 40)
		okC := b.runeLen(r.content, r.pos, c.what("notice content"), 2000)
		if !okT || !okC {
			continue
		}
		n := Notice{Title: r.title.val, Content: r.content.val}
		if at, dup := first[n]; dup {
			b.errs.add(r.pos, "%s: notice %q is listed twice (first at %s)", c.label, n.Title, at)
			continue
		}
		first[n] = r.pos
		c.g.Notices = append(c.g.Notices, n)
	}
}

func (b *builder) banners(c *groupCheck) {
	first := map[Banner]Pos{}
	for _, r := range c.r.banners {
		if r.banner == (Banner{}) {
			b.errs.add(r.pos, "%s: banner is empty: set at least one of %s", c.label, strings.Join(bannerFields, ", "))
			continue
		}
		if at, dup := first[r.banner]; dup {
			b.errs.add(r.pos, "%s: banner is listed twice (first at %s)", c.label, at)
			continue
		}
		first[r.banner] = r.pos
		c.g.Banners = append(c.g.Banners, r.banner)
	}
}

// groupType sets the group's type (the vendor's default when it names
// none) and its subscribers, which only a group of the vendor's
// subscribers type has.
func (b *builder) groupType(c *groupCheck, d *vendors.Vendor) {
	f := d.Fields
	c.g.Type = f.DefaultType
	if t := c.r.typ; t.set {
		if slices.Contains(f.Types, t.val) {
			c.g.Type = t.val
		} else {
			b.errs.add(t.pos, "%s: unknown type %q (%s)", c.label, t.val, orList(f.Types))
		}
	}
	if f.SubscribersType == "" {
		return
	}
	typeOK := c.g.Type == c.r.typ.val || !c.r.typ.set
	if pos, given := c.r.fields["subscribers"]; given && typeOK && c.g.Type != f.SubscribersType {
		b.errs.add(pos, "%s: subscribers need type: %s (only a broadcast has subscribers)", c.label, f.SubscribersType)
	} else {
		c.g.Subscribers = b.resolveAll(c.p.Vendor, c.r.subscribers, c.label+": subscriber")
	}
}

// orList writes items as "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

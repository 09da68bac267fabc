package spec

import "strings"

// yunzhijiaGroup applies the Yunzhijia rules: an effective owner, notices
// and banners within the vendor's limits, no Lunkr-only fields.
func (b *builder) yunzhijiaGroup(c *groupCheck) {
	b.refuse(c, notYunzhijia)
	b.owner(c)
	b.notices(c)
	b.banners(c)
}

// owner sets the effective currentUid: the group's owner, else the
// provider's operator.
func (b *builder) owner(c *groupCheck) {
	if _, given := c.r.fields["owner"]; given {
		if c.r.owner.set {
			if m, ok := b.resolve(Yunzhijia, c.r.owner, c.label+": owner"); ok {
				c.g.Owner = &m
			}
		}
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

// lunkrGroup applies the Lunkr rules: a type, subscribers only on a
// sysTopic, a name and members unless the group is adopted, no
// Yunzhijia-only fields.
func (b *builder) lunkrGroup(c *groupCheck) {
	b.refuse(c, notLunkr)
	c.g.Type = TypeTopic
	if t := c.r.typ; t.set {
		switch t.val {
		case TypeTopic, TypePublic, TypeSysTopic:
			c.g.Type = t.val
		default:
			b.errs.add(t.pos, "%s: unknown type %q (topic, public or sysTopic)", c.label, t.val)
		}
	}
	typeOK := c.g.Type == c.r.typ.val || !c.r.typ.set
	if pos, given := c.r.fields["subscribers"]; given && typeOK && c.g.Type != TypeSysTopic {
		b.errs.add(pos, "%s: subscribers need type: sysTopic (only a broadcast has subscribers)", c.label)
	} else {
		c.g.Subscribers = b.resolveAll(Lunkr, c.r.subscribers, c.label+": subscriber")
	}
	if _, pinned := c.r.fields["groupId"]; pinned {
		return
	}
	if _, given := c.r.fields["name"]; !given {
		b.errs.add(c.r.pos, "%s: a lunkr group needs a name (or a groupId to adopt an existing group)", c.label)
	}
	if c.r.memberItems == 0 {
		b.errs.add(c.r.pos, "%s: a lunkr group needs at least one member (or a groupId to adopt an existing group)", c.label)
	}
}

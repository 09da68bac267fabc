package spec

import (
	"gopkg.in/yaml.v3"

	"groupsync/internal/vendors"
)

// capabilities returns what v's client declares it can do; a manifest
// field that needs a call the vendor lacks (prune, read: full) is refused
// from them, never from the vendor's name.
func capabilities(v Vendor) (vendors.Capabilities, bool) {
	d, ok := lookup(v)
	if !ok {
		return vendors.Capabilities{}, false
	}
	return d.Capabilities, true
}

// switchVal is a boolean field with the place it was written; set is false when
// the field was absent, null or not a boolean.
type switchVal struct {
	val bool
	pos Pos
	set bool
}

// boolean decodes a true/false field. A null value leaves it unset.
func (d *decoder) boolean(n *yaml.Node, field string) switchVal {
	n = deref(n)
	if isNull(n) {
		return switchVal{pos: d.pos(n)}
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var v bool
		if err := n.Decode(&v); err == nil {
			return switchVal{val: v, pos: d.pos(n), set: true}
		}
	}
	d.errorf(n, "%s must be true or false, not %s", field, kindName(n))
	return switchVal{pos: d.pos(n)}
}

// providerPrune checks the provider's prune default and read mode against
// what its vendor can do.
func (b *builder) providerPrune(p *Provider, r *rawProvider) {
	caps, known := capabilities(p.Vendor)
	if r.prune.set {
		if r.prune.val && known && !caps.RemoveMembers {
			b.errs.add(r.prune.pos, "provider %s: prune: %s cannot remove members (its API has no removal call): remove prune; extra members stay drift to fix by hand", p.Name, p.Vendor)
		} else {
			p.Prune = r.prune.val
		}
	}
	if !r.read.set {
		return
	}
	switch mode := ReadMode(r.read.val); {
	case mode != ReadMembers && mode != ReadFull:
		b.errs.add(r.read.pos, "provider %s: read %q is not known: use members (one read per group, the default) or full (the name and current notice too)", p.Name, r.read.val)
	case mode == ReadFull && known && !caps.GroupInfo:
		b.errs.add(r.read.pos, "provider %s: read: full: %s has no read beyond its one group read (which has the name already): remove read", p.Name, p.Vendor)
	case mode == ReadFull:
		p.Read = mode
	}
}

// groupPrune sets the group's prune: its own, else its provider's.
func (b *builder) groupPrune(c *groupCheck) {
	c.g.Prune = c.p.Prune
	f := c.r.prune
	if !f.set {
		return
	}
	if caps, known := capabilities(c.p.Vendor); f.val && known && !caps.RemoveMembers {
		b.errs.add(f.pos, "%s: prune: %s cannot remove members (its API has no removal call): remove prune; extra members stay drift to fix by hand", c.label, c.p.Vendor)
		return
	}
	c.g.Prune = f.val
}

package reconcile

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

// keptFix is the drift fix for extra members prune never removes.
const keptFix = "not in manifest, but prune never removes the group's owner, the provider's operator or a manager: remove by hand, or list them in members"

// planPrune turns the extra members planMembers reported into one removal,
// where the group prunes and its vendor can remove. The group's owner, the
// provider's operator and the live managers are never removed: they stay
// drift, with the fix. Members in the manifest are never extra, so never
// removed.
func planPrune(gp *GroupPlan, g *spec.Group, p *spec.Provider, live *vendors.Group, caps vendors.Capabilities, handles *handleIndex) {
	if !g.Prune || !caps.RemoveMembers {
		return
	}
	i := extraDrift(gp)
	if i < 0 {
		return
	}
	protected := func(id string) bool {
		if g.Owner != nil && strings.EqualFold(id, g.Owner.ID) || p != nil && p.Operator != "" && strings.EqualFold(id, p.Operator) {
			return true
		}
		for _, m := range live.Managers {
			if gp.SetOwner != nil && m == live.Owner {
				continue // the owner this plan replaces is no manager after it
			}
			if strings.EqualFold(id, m) {
				return true
			}
		}
		return false
	}
	var kept []Member
	for _, m := range gp.Drift[i].Members {
		if protected(m.ID) {
			kept = append(kept, m)
			continue
		}
		gp.Remove = append(gp.Remove, Member{Handle: handles.of(g.Vendor, m.ID), ID: m.ID})
	}
	if len(kept) == 0 {
		gp.Drift = append(gp.Drift[:i], gp.Drift[i+1:]...)
		if len(gp.Drift) == 0 {
			gp.Drift = nil
		}
		return
	}
	gp.Drift[i] = Drift{Kind: DriftExtraMember, Members: kept, Fix: keptFix}
}

// extraDrift is the index of the group's extra-member drift, or -1.
func extraDrift(gp *GroupPlan) int {
	for i, d := range gp.Drift {
		if d.Kind == DriftExtraMember {
			return i
		}
	}
	return -1
}

// planNotice reports, from a full read, a current notice that is not the
// manifest's last one. A last notice this plan posts, or whose post has an
// unknown outcome, will be (or may be) the current one: no drift then.
func planNotice(gp *GroupPlan, g *spec.Group, live *vendors.Group) {
	if !live.Info || len(g.Notices) == 0 {
		return
	}
	last := g.Notices[len(g.Notices)-1]
	want := last
	hash := ContentHash(want)
	for _, n := range gp.Notices {
		if n.Hash == hash {
			return
		}
	}
	for _, e := range gp.Errors {
		if e.Kind == IssueUnknownPost && strings.Contains(e.Fix, hash) {
			return
		}
	}
	var cur Notice
	if live.Notice != nil {
		cur = Notice{Title: live.Notice.Title, Content: live.Notice.Content}
	}
	if cur == want {
		return
	}
	d := Drift{Kind: DriftNotice, Live: noticeLabel(cur, want), Desired: noticeLabel(want, cur),
		Fix: fmt.Sprintf("the current notice is not the manifest's last one (posted or withdrawn outside groupsync): post %q again in the %s app, or make the current notice the manifest's last", want.Title, g.Vendor)}
	if live.Notice == nil {
		d.Live = "(none)"
	}
	gp.Drift = append(gp.Drift, d)
}

// noticeLabel is n's title, with the start of its content when other has
// the same title.
func noticeLabel(n, other Notice) string {
	if n.Title != other.Title {
		return n.Title
	}
	c := n.Content
	if utf8.RuneCountInString(c) > 30 {
		c = string([]rune(c)[:30]) + "…"
	}
	return n.Title + ": " + c
}

// handleIndex finds the people handle of a vendor id, for showing the
// members prune removes (who are not in the group's members, but may be in
// the people directory). It is built on first use: most plans remove no one.
type handleIndex struct {
	people map[string]spec.Person
	byID   map[string]string // vendor + "\x00" + lower-case id -> handle
}

func (h *handleIndex) of(v spec.Vendor, id string) string {
	if h.byID == nil {
		h.byID = make(map[string]string, len(h.people))
		for handle, p := range h.people {
			for pv, pid := range p.IDs {
				h.byID[string(pv)+"\x00"+strings.ToLower(pid)] = handle
			}
		}
	}
	return h.byID[string(v)+"\x00"+strings.ToLower(id)]
}

// CheckRemovals checks a plan's removals against the manifest it claims to
// come from, for a saved plan: every group that removes members must be a
// manifest group that prunes, and no one it removes may be among the
// group's members, its owner or its provider's operator. A plan that fails
// is refused whole, before any call: it was altered, or made from another
// manifest.
func CheckRemovals(p *Plan, m *spec.Manifest) error {
	groups := make(map[string]*spec.Group, len(m.Groups))
	for _, g := range m.Groups {
		groups[g.Key] = g
	}
	for i := range p.Groups {
		gp := &p.Groups[i]
		if len(gp.Remove) == 0 {
			continue
		}
		g := groups[gp.Key]
		switch {
		case g == nil:
			return fmt.Errorf("group %s: the plan removes members from a group the manifest does not have; refused as altered, nothing was changed", gp.Key)
		case !g.Prune:
			return fmt.Errorf("group %s: the plan removes members but the manifest does not prune this group; refused as altered, nothing was changed", gp.Key)
		case gp.Provider != g.Provider:
			return fmt.Errorf("group %s: the plan removes members on provider %s, the manifest names %s; refused as altered, nothing was changed", gp.Key, gp.Provider, g.Provider)
		}
		keep := memberSet{}
		for _, mb := range g.Members {
			keep.add(mb.ID, "")
		}
		if g.Owner != nil {
			keep.add(g.Owner.ID, "")
		}
		if pr := m.Providers[g.Provider]; pr != nil && pr.Operator != "" {
			keep.add(pr.Operator, "")
		}
		for _, r := range gp.Remove {
			if keep.has(r.ID, "") || keep.has(strings.ToLower(r.ID), "") {
				return fmt.Errorf("group %s: the plan removes %s, whom the manifest lists; refused as altered, nothing was changed", gp.Key, r.ID)
			}
		}
	}
	return nil
}

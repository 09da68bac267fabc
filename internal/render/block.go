package render

import (
	"strconv"
	"strings"

	"groupsync/internal/reconcile"
)

// maxListed is how many members a line names before "… and N more".
const maxListed = 10

// markRemove marks a removal (prune). It is never a group's action: groups
// are never deleted.
const markRemove reconcile.Action = "-"

// noChanges is shown when a plan has nothing to show.
const noChanges = "No changes. The groups match the manifests."

// block is one group as shown: a header and the items nested under it. Text
// and Markdown both print blocks; building one is where the words are chosen.
type block struct {
	action reconcile.Action
	key    string
	head   string // after the key: the create line or the group id
	items  []item
}

// item is one nested line: a step, a binding, a drift or an error.
type item struct {
	mark reconcile.Action
	text string
	hint string // printed on its own line under the item
}

// inline reports whether the block is a '!' group with one item only, which
// goes on the header line.
func (b *block) inline() bool {
	return b.action == reconcile.ActionReport && len(b.items) == 1
}

// shown reports whether a group appears in the plan output at all.
func shown(g *reconcile.GroupPlan) bool {
	return g.Action != reconcile.ActionNone && g.Action != ""
}

// shownGroups returns the groups that appear in the output, in plan order.
func shownGroups(p *reconcile.Plan) []*reconcile.GroupPlan {
	var out []*reconcile.GroupPlan
	for i := range p.Groups {
		if shown(&p.Groups[i]) {
			out = append(out, &p.Groups[i])
		}
	}
	return out
}

func newBlock(g *reconcile.GroupPlan) block {
	b := block{action: g.Action, key: clean(g.Key), head: clean(g.GroupID)}
	if g.Create != nil {
		b.head = createLine(g)
	}
	if g.Bind != nil {
		b.items = append(b.items, item{mark: reconcile.ActionUpdate, text: bindText(g.Bind)})
	}
	if len(g.SameNameOrphans) > 0 {
		b.items = append(b.items, renameItem(g.SameNameOrphans))
	}
	if g.Rename != "" {
		b.items = append(b.items, item{mark: reconcile.ActionUpdate, text: "rename to " + quote(g.Rename)})
	}
	if g.SetOwner != nil {
		b.items = append(b.items, item{mark: reconcile.ActionUpdate, text: "owner: " + label(*g.SetOwner)})
	}
	if len(g.Add) > 0 {
		b.items = append(b.items, item{mark: reconcile.ActionCreate, text: "add members: " + labels(g.Add)})
	}
	if len(g.Remove) > 0 {
		b.items = append(b.items, item{mark: markRemove, text: "remove members: " + labels(g.Remove)})
	}
	for _, n := range g.Notices {
		b.items = append(b.items, item{mark: reconcile.ActionCreate, text: "notice " + quote(postTitle(n))})
	}
	for _, s := range g.Banners {
		b.items = append(b.items, item{mark: reconcile.ActionCreate, text: "banner " + bannerTitle(s)})
	}
	for _, d := range g.Drift {
		b.items = append(b.items, item{mark: reconcile.ActionReport, text: driftText(d)})
	}
	for _, e := range g.Errors {
		b.items = append(b.items, item{mark: reconcile.ActionReport, text: "error: " + clean(e.Message), hint: clean(e.Fix)})
	}
	return b
}

// createLine is `create yunzhijia group "name" (owner alice, 2 members)`.
func createLine(g *reconcile.GroupPlan) string {
	c := g.Create
	s := "create " + clean(g.Vendor) + " group "
	if name := c.Name; name != "" {
		s += quote(name)
	} else {
		s += "(named by the vendor)"
	}
	var facts []string
	if g.Owner != nil {
		facts = append(facts, "owner "+ownerLabel(g.Owner))
	}
	if c.Type != "" {
		facts = append(facts, "type "+clean(c.Type))
	}
	facts = append(facts, count(len(c.Members), "member"))
	if c.ID != "" {
		// A lost create of an id groupsync chose, which a read did not find.
		facts = append(facts, "sent again with id "+clean(c.ID))
	}
	if len(c.Subscribers) > 0 || c.Type == "sysTopic" {
		facts = append(facts, count(len(c.Subscribers), "subscriber"))
	}
	return s + " (" + strings.Join(facts, ", ") + ")"
}

// renameItem warns that a create matches orphan keys' groups: a key renamed
// without `previously:` would get a second group.
func renameItem(keys []string) item {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = clean(k)
	}
	list := strings.Join(names, ", ")
	what := "the group of " + list + ", a key no longer in the manifest, has this provider and name"
	if len(keys) > 1 {
		what = "the groups of " + list + ", keys no longer in the manifest, have this provider and name"
	}
	return item{mark: reconcile.ActionReport, text: what + ": was this key renamed?",
		hint: "if so, add `previously: [" + list + "]` to this group to keep its group; as it is, apply creates a second one"}
}

func bindText(b *reconcile.Bind) string {
	switch b.Kind {
	case reconcile.BindAdopt:
		return "adopt group " + clean(b.GroupID) + ": " + clean(b.Reason)
	case reconcile.BindRename:
		return "renamed from " + clean(b.From) + " (state moves to this key)"
	case reconcile.BindRecover:
		return "recovered " + clean(b.GroupID) + ": " + clean(b.Reason)
	}
	return clean(b.Reason)
}

// driftText is the drift's fix, with what differs: the live and desired
// values, or the members when the fix does not already name them.
func driftText(d reconcile.Drift) string {
	fix := clean(d.Fix)
	switch {
	case d.Live != "" || d.Desired != "":
		return string(d.Kind) + " is " + quote(d.Live) + " on the vendor, manifest says " + quote(d.Desired) + ": " + fix
	case len(d.Members) == 0:
		return fix
	case strings.Contains(d.Fix, d.Members[0].ID):
		return shortenIDs(fix, d.Members)
	}
	return fix + ": " + labels(d.Members)
}

// shortenIDs cuts the full list of the members' ids inside a fix written by
// the planner down to maxListed.
func shortenIDs(fix string, ms []reconcile.Member) string {
	if len(ms) <= maxListed {
		return fix
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = clean(m.ID)
	}
	full := strings.Join(ids, ", ")
	short := strings.Join(ids[:maxListed], ", ") + more(len(ms), maxListed)
	return strings.Replace(fix, full, short, 1)
}

// labels lists members as "bob (5b6c…), 5bee…", at most maxListed of them.
func labels(ms []reconcile.Member) string {
	n := min(len(ms), maxListed)
	out := make([]string, n)
	for i, m := range ms[:n] {
		out[i] = label(m)
	}
	return strings.Join(out, ", ") + more(len(ms), n)
}

// more is ", … and N more" when a list of n items was cut to its first
// shown, else "".
func more(n, shown int) string {
	if n <= shown {
		return ""
	}
	return ", … and " + strconv.Itoa(n-shown) + " more"
}

// label is "handle (id)", or the id alone when there is no handle.
func label(m reconcile.Member) string {
	if m.Handle == "" || m.Handle == m.ID {
		return clean(m.ID)
	}
	return clean(m.Handle) + " (" + clean(m.ID) + ")"
}

// ownerLabel is the owner's handle, or its id when it has none.
func ownerLabel(m *reconcile.Member) string {
	if m.Handle != "" {
		return clean(m.Handle)
	}
	return clean(m.ID)
}

func postTitle(s reconcile.PostStep) string {
	if s.Title == "" && s.Notice != nil {
		return s.Notice.Title
	}
	return s.Title
}

// bannerTitle is the banner's quoted title, else its page, else "(untitled)".
func bannerTitle(s reconcile.PostStep) string {
	switch {
	case s.Title != "":
		return quote(s.Title)
	case s.Banner != nil && s.Banner.Title != "":
		return quote(s.Banner.Title)
	case s.Banner != nil && s.Banner.WebpageURL != "":
		return clean(s.Banner.WebpageURL)
	}
	return "(untitled)"
}

// orphansLine names the state keys no manifest claims; limit > 0 cuts the
// list to that many.
func orphansLine(keys []string, limit int) string {
	n := len(keys)
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]string, n)
	for i, k := range keys[:n] {
		out[i] = clean(k)
	}
	return "state keys not in any manifest (left alone; run `groupsync state forget KEY`): " +
		strings.Join(out, ", ") + more(len(keys), n)
}

// providerLines says once why each unusable provider's groups are blocked:
// "! provider …" and its hint.
func ProviderLines(p *reconcile.Plan) []string {
	var out []string
	for _, e := range p.ProviderErrors {
		out = append(out, "! "+clean(e.Message))
		if e.Fix != "" {
			out = append(out, "    hint: "+clean(e.Fix))
		}
	}
	return out
}

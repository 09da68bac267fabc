package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"groupsync/internal/spec"
	"groupsync/internal/state"
)

// CheckSaved checks a saved plan's every write against the manifest it
// records (m, whose digest the caller has checked) and the state it was
// made from (bindings, posts and open intents at the plan's serial): names,
// owners, types, members, subscribers, notices, banners and the bindings it
// records, and that no content is posted again. A plan file may have been
// edited, or replaced, since it was made; a plan that does anything the
// manifest does not ask for is refused whole. It returns one line per difference, each naming the group key,
// and nil when the plan is what the manifest asks for.
//
// A recovered group's id comes from the vendor's group list, which the
// manifest does not hold: only that the binding closes the key's own open
// create is checked.
func CheckSaved(p *Plan, m *spec.Manifest, bindings map[string]state.Binding, posts map[string][]state.Post, intents []state.Intent) []string {
	groups := make(map[string]*spec.Group, len(m.Groups))
	for _, g := range m.Groups {
		groups[g.Key] = g
	}
	creates := map[string]int64{} // open create intent by key
	chosen := map[string]string{} // the group id it chose, by key
	for _, in := range intents {
		if in.Kind == state.IntentCreate {
			creates[in.Key] = in.ID
			chosen[in.Key] = in.GroupID
		}
	}
	twice := make([]bool, len(p.Groups))
	seen := make(map[string]bool, len(p.Groups))
	for i := range p.Groups {
		twice[i] = seen[p.Groups[i].Key]
		seen[p.Groups[i].Key] = true
	}
	// The groups are checked on every core: this check stands between a
	// saved plan and its first call. Each keeps its findings, in plan order.
	found := make([][]string, len(p.Groups))
	forEach(context.Background(), len(p.Groups), runtime.GOMAXPROCS(0), func(i int) {
		gp := &p.Groups[i]
		if twice[i] {
			found[i] = []string{fmt.Sprintf("group %s: planned twice", gp.Key)}
			return
		}
		g := groups[gp.Key]
		if g == nil {
			if gp.changes() {
				found[i] = []string{fmt.Sprintf("group %s: not in the manifest", gp.Key)}
			}
			return
		}
		for _, d := range checkGroup(gp, g, bindings, posts, creates, chosen) {
			found[i] = append(found[i], fmt.Sprintf("group %s: %s", gp.Key, d))
		}
	})
	var out []string
	for _, f := range found {
		out = append(out, f...)
	}
	return out
}

// A plan has three forms: this package's Plan, what the planner and the
// apply use; the public JSON document (`plan --format json`, render.JSON:
// formatVersion 1, its fields as Plan's tags name them); and the saved plan
// file (`plan --out`, WriteSaved), that document read back by ReadSaved
// (DecodeSaved of its bytes). A file may
// have been edited since it was saved, so the fields derived from the steps
// (each group's action and the summary) are recomputed when it is read,
// never taken from it, and its steps are checked by CheckSaved.

// FormatVersionError refuses a saved plan of another format version.
type FormatVersionError struct{ Have int }

func (e *FormatVersionError) Error() string {
	return fmt.Sprintf("format version %d; this groupsync reads %d", e.Have, FormatVersion)
}

// EncodeSaved is the saved plan file of p: its JSON document, indented,
// whole. WriteSaved writes the same bytes group by group.
func EncodeSaved(p *Plan) ([]byte, error) {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// DecodeSaved reads a saved plan file: its document, of this format
// version, with the derived fields recomputed from the steps. ReadSaved
// does the same from a reader, cheaper.
func DecodeSaved(data []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	if p.FormatVersion != FormatVersion {
		return nil, &FormatVersionError{Have: p.FormatVersion}
	}
	p.derive()
	return &p, nil
}

// derive recomputes what follows from the steps: each group's action and
// the summary.
func (p *Plan) derive() {
	for i := range p.Groups {
		p.Groups[i].Action = actionOf(&p.Groups[i])
	}
	p.Summary = summarise(p.Groups)
}

// checkGroup returns what in gp's steps the manifest group g does not ask
// for.
func checkGroup(gp *GroupPlan, g *spec.Group, bindings map[string]state.Binding, posts map[string][]state.Post, creates map[string]int64, chosen map[string]string) []string {
	if !gp.changes() {
		return nil
	}
	var out []string
	differ := func(what, got, want string) {
		if got != want {
			out = append(out, fmt.Sprintf("%s %q is not the manifest's %q", what, got, want))
		}
	}
	differ("provider", gp.Provider, g.Provider)
	differ("operator", gp.Operator, operatorOf(g))

	t := Resolve(g, bindings)
	target := t.GroupID // the group the steps act on
	intent, open := creates[g.Key]
	if b := gp.Bind; b != nil {
		switch {
		case b.Kind == BindAdopt || b.Kind == BindRename:
			if t.Bind == nil || t.Bind.Kind != b.Kind {
				out = append(out, fmt.Sprintf("%s: the manifest and the state ask for none", b.Kind))
				break
			}
			if b.Kind == BindRename && b.From != t.Bind.From {
				out = append(out, fmt.Sprintf("rename from %q: the manifest renames from %q", b.From, t.Bind.From))
			}
			// An unread pin is left out of a rename: the old binding's id moves.
			if b.GroupID != t.GroupID && (b.Kind != BindRename || b.GroupID != bindings[t.Bind.From].GroupID) {
				out = append(out, fmt.Sprintf("%s of group %q: the manifest asks for %q", b.Kind, b.GroupID, t.GroupID))
			}
			if b.IntentID != 0 && (!open || b.IntentID != intent) {
				out = append(out, fmt.Sprintf("%s closes intent %d, not the group's open create", b.Kind, b.IntentID))
			}
		case b.Kind == BindRecover || b.Kind == BindRetry:
			if t.GroupID != "" || !open || b.IntentID != intent {
				out = append(out, fmt.Sprintf("%s of intent %d: the group has no such open create", b.Kind, b.IntentID))
			}
			if b.Kind == BindRecover {
				target = b.GroupID
			} else if b.GroupID != "" {
				out = append(out, fmt.Sprintf("retry binds group %q", b.GroupID))
			}
		default:
			out = append(out, fmt.Sprintf("unknown state change %q", b.Kind))
		}
	}

	if c := gp.Create; c != nil {
		retry := gp.Bind != nil && gp.Bind.Kind == BindRetry
		// A create sent again with the id its open intent chose.
		resend := c.IntentID != 0 && open && c.IntentID == intent && c.ID != "" && c.ID == chosen[g.Key] && gp.Bind == nil
		if t.GroupID != "" || open && !retry && !resend {
			out = append(out, "create: the group exists or its last create's outcome is unknown")
		}
		if (c.IntentID != 0 || c.ID != "") && !resend {
			out = append(out, fmt.Sprintf("create sends id %q under intent %d: the group has no such open create", c.ID, c.IntentID))
		}
		differ("create name", c.Name, g.Name)
		differ("create type", c.Type, g.Type)
		owner := ""
		if g.Owner != nil {
			owner = g.Owner.ID
		}
		// As planCreate lists them; the lists are joined only to say how
		// they differ.
		if !sameIDs(c.Members, g.Members, owner) || !sameIDs(c.Subscribers, g.Subscribers, "") {
			var want GroupPlan
			planCreate(&want, g)
			differ("create members", joinIDs(c.Members), joinIDs(want.Create.Members))
			differ("create subscribers", joinIDs(c.Subscribers), joinIDs(want.Create.Subscribers))
		}
	} else if (gp.updates() || len(gp.Notices) > 0 || len(gp.Banners) > 0) && (target == "" || gp.GroupID != target) {
		out = append(out, fmt.Sprintf("steps act on group %q, the manifest's is %q", gp.GroupID, target))
	}
	if gp.Rename != "" {
		differ("rename to", gp.Rename, g.Name)
	}
	if gp.SetOwner != nil {
		differ("owner change to", gp.SetOwner.ID, operatorOf(g))
	}

	if len(gp.Add) > 0 {
		sets := memberSetPool.Get().(*memberSets)
		desired := sets.want
		if g.Owner != nil {
			desired.add(g.Owner.ID, "")
		}
		for _, mb := range g.Members {
			desired.add(mb.ID, "")
		}
		for _, mb := range gp.Add {
			if !desired.has(mb.ID, "") {
				out = append(out, fmt.Sprintf("adds member %q, who is not one of its members", mb.ID))
			}
		}
		clear(desired)
		memberSetPool.Put(sets)
	}
	posted := posts[g.Key]
	if t.Bind != nil && t.Bind.Kind == BindRename {
		// What was posted under the old key moves with it.
		posted = append(slices.Clip(posted), posts[t.Bind.From]...)
	}
	out = append(out, checkPosts(gp, g, posted)...)
	return out
}

// sameIDs reports whether got holds the ids of want, less skip, in order.
func sameIDs(got []Member, want []*spec.Member, skip string) bool {
	i := 0
	for _, w := range want {
		if skip != "" && w.ID == skip {
			continue
		}
		if i == len(got) || got[i].ID != w.ID {
			return false
		}
		i++
	}
	return i == len(got)
}

// checkPosts returns the notices and banners of gp that are not the
// manifest group's, by content, or that were posted already.
func checkPosts(gp *GroupPlan, g *spec.Group, posted []state.Post) []string {
	var out []string
	done := make(map[string]bool, len(posted))
	for _, p := range posted {
		done[string(p.Kind)+":"+p.Hash] = true
	}
	notices := map[string]bool{}
	for _, n := range g.Notices {
		notices[ContentHash(n)] = true
	}
	for _, s := range gp.Notices {
		switch {
		case s.Notice == nil || s.Banner != nil:
			out = append(out, fmt.Sprintf("notice %q is not a notice", s.Title))
		case ContentHash(*s.Notice) != s.Hash || s.Title != s.Notice.Title:
			out = append(out, fmt.Sprintf("notice %q: its hash or title is not its content's", s.Title))
		case !notices[s.Hash]:
			out = append(out, fmt.Sprintf("notice %q is not one of its notices", s.Title))
		case done[string(state.PostNotice)+":"+s.Hash]:
			out = append(out, fmt.Sprintf("notice %q was posted already", s.Title))
		}
	}
	banners := map[string]bool{}
	for _, b := range g.Banners {
		banners[ContentHash(b)] = true
	}
	for _, s := range gp.Banners {
		switch {
		case s.Banner == nil || s.Notice != nil:
			out = append(out, fmt.Sprintf("banner %q is not a banner", s.Title))
		case ContentHash(*s.Banner) != s.Hash || s.Title != s.Banner.Title:
			out = append(out, fmt.Sprintf("banner %q: its hash or title is not its content's", s.Title))
		case !banners[s.Hash]:
			out = append(out, fmt.Sprintf("banner %q is not one of its banners", s.Title))
		case done[string(state.PostBanner)+":"+s.Hash]:
			out = append(out, fmt.Sprintf("banner %q was posted already", s.Title))
		}
	}
	// The same content twice would post it twice.
	for _, steps := range [][]PostStep{gp.Notices, gp.Banners} {
		hashes := make([]string, len(steps))
		for i, s := range steps {
			hashes[i] = s.Hash
		}
		slices.Sort(hashes)
		if len(slices.Compact(hashes)) != len(steps) {
			out = append(out, "posts the same content twice")
		}
	}
	return out
}

// AlteredError is the error for a saved plan CheckSaved refused.
func AlteredError(path string, diffs []string) error {
	const show = 10
	var b strings.Builder
	fmt.Fprintf(&b, "the saved plan %s does what its manifest does not ask for (was it edited?); nothing was changed:", path)
	for i, d := range diffs {
		if i == show {
			fmt.Fprintf(&b, "\n  … and %d more", len(diffs)-show)
			break
		}
		b.WriteString("\n  " + d)
	}
	b.WriteString("\nhint: make a new plan with `groupsync plan -f PATH... --out FILE`, review it and apply that")
	return fmt.Errorf("%s", b.String())
}

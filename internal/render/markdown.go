package render

import (
	"html"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"groupsync/internal/reconcile"
)

// MaxMarkdown is the most characters Markdown writes, less than GitHub
// accepts in a comment (65,536).
const MaxMarkdown = 65000

// maxOrphansMarkdown is how many orphan keys a comment names.
const maxOrphansMarkdown = 50

// MarkdownOptions say how Markdown writes.
type MarkdownOptions struct {
	// FullPlanURL, when not empty, is linked from a cut plan: where the
	// whole plan can be read (for example a CI artifact of the text plan).
	FullPlanURL string

	limit int // tests: MaxMarkdown when 0
}

// kind is what a reviewer must see of a group, in the order Markdown shows
// the kinds: errors first, then drift to fix by hand, creates, removals and
// other changes. A group is of the first kind that applies.
type kind int

const (
	kindErrors kind = iota
	kindDrift
	kindCreates
	kindRemovals
	kindOther
	numKinds
)

var kindNames = [numKinds]struct {
	mark  reconcile.Action
	title string // section heading and summary-table row
	one   string // counted in the cut note: "1 create", "3 creates"
	many  string
}{
	kindErrors:   {reconcile.ActionReport, "Errors", "group with errors", "groups with errors"},
	kindDrift:    {reconcile.ActionReport, "Drift to fix by hand", "group with drift", "groups with drift"},
	kindCreates:  {reconcile.ActionCreate, "Creates", "create", "creates"},
	kindRemovals: {markRemove, "Removals", "group with removals", "groups with removals"},
	kindOther:    {reconcile.ActionUpdate, "Other changes", "other change", "other changes"},
}

// kindOf is the kind a group is shown under.
func kindOf(g *reconcile.GroupPlan) kind {
	switch {
	case len(g.Errors) > 0:
		return kindErrors
	case len(g.Drift) > 0:
		return kindDrift
	case g.Create != nil:
		return kindCreates
	case len(g.Remove) > 0:
		return kindRemovals
	}
	return kindOther
}

// Markdown writes the plan for a pull-request comment with no options; see
// MarkdownWith.
func Markdown(w io.Writer, p *reconcile.Plan) error {
	return MarkdownWith(w, p, MarkdownOptions{})
}

// MarkdownWith writes the plan for a pull-request comment: a heading, a
// note when the plan comes from the cache, the summary line, a table of how
// many groups of each kind there are (never cut), then a section per kind in
// the order a reviewer must see them (errors, drift, creates, removals,
// other changes), each group's text block in a ```diff block. It writes
// fewer than MaxMarkdown characters: when the whole plan does not fit, the
// groups past what fits are named on one line each, then left out, and a
// note counts by kind the groups not shown in full and links
// o.FullPlanURL.
func MarkdownWith(w io.Writer, p *reconcile.Plan, o MarkdownOptions) error {
	if p == nil {
		return errNilPlan
	}
	groups := shownGroups(p)
	var byKind [numKinds][]*reconcile.GroupPlan
	for _, g := range groups {
		k := kindOf(g)
		byKind[k] = append(byKind[k], g)
	}

	var head strings.Builder
	head.WriteString("### groupsync plan\n\n")
	if !p.Refreshed {
		head.WriteString(cacheNote(p) + "\n\n")
	}
	head.WriteString(SummaryLine(p.Summary) + "\n")
	if lines := ProviderLines(p); len(lines) > 0 {
		text := strings.Join(lines, "\n")
		fence := fenceFor(text)
		head.WriteString("\n" + fence + "\n" + text + "\n" + fence + "\n")
	}
	if len(groups) == 0 && len(p.Orphans) == 0 {
		head.WriteString("\n" + noChanges + "\n")
	}
	if len(groups) > 0 {
		head.WriteString("\n| | kind | groups |\n|---|---|---:|\n")
		for k := range numKinds {
			if n := len(byKind[k]); n > 0 {
				head.WriteString("| `" + string(kindNames[k].mark) + "` | " + kindNames[k].title + " | " + strconv.Itoa(n) + " |\n")
			}
		}
		if p.Summary.InSync > 0 {
			head.WriteString("| | In sync | " + strconv.Itoa(p.Summary.InSync) + " |\n")
		}
	}
	if len(p.Orphans) > 0 {
		head.WriteString("\n" + cell(orphansLine(p.Orphans, maxOrphansMarkdown)) + "\n")
	}

	limit := MaxMarkdown
	if o.limit > 0 {
		limit = o.limit
	}

	// What a reviewer must see comes first: the groups with errors or drift
	// are named on one line each (as many as fit), then the first of those
	// get their details block instead (as many as fit); then the same for
	// the other groups with what room is left. The budget keeps room for
	// the longest cut note and a blank line before each section's list.
	type entry struct {
		k            kind
		heading      string // before the section's first group
		line, block  string
		named, whole bool
	}
	var order []entry
	for k := range numKinds {
		for i, g := range byKind[k] {
			b := newBlock(g)
			e := entry{k: k, line: listLine(g, &b), block: detailsBlock(g, &b, k <= kindDrift)}
			if i == 0 {
				e.heading = "\n#### " + kindNames[k].title + " (" + strconv.Itoa(len(byKind[k])) + ")\n"
			}
			order = append(order, e)
		}
	}
	used := runes(head.String()) + runes(cutNote(longestCounts, longestCounts, o.FullPlanURL)) + int(numKinds)
	tier := len(byKind[kindErrors]) + len(byKind[kindDrift])
	for _, part := range [][]entry{order[:tier], order[tier:]} {
		named := 0
		for i := range part {
			c := runes(part[i].heading) + runes(part[i].line)
			if used+c >= limit {
				break
			}
			used += c
			part[i].named = true
			named++
		}
		for i := range part[:named] {
			c := runes(part[i].block) - runes(part[i].line)
			if used+c >= limit {
				break
			}
			used += c
			part[i].whole = true
		}
	}

	ew := &errWriter{w: w}
	ew.write(head.String())
	var lined, left [numKinds]int
	listing, cut := false, false
	for _, e := range order {
		switch {
		case !e.named:
			left[e.k]++
			cut = true
			continue
		case e.heading != "":
			ew.write(e.heading)
			listing = false
		}
		if e.whole {
			ew.write(e.block)
			continue
		}
		if !listing {
			ew.write("\n")
			listing = true
		}
		ew.write(e.line)
		lined[e.k]++
		cut = true
	}
	if cut {
		ew.write(cutNote(lined, left, o.FullPlanURL))
	}
	return ew.err
}

// longestCounts makes the longest cut note any plan that fits can have.
var longestCounts = [numKinds]int{9999999, 9999999, 9999999, 9999999, 9999999}

// cacheNote says the plan comes from the cache, and when that was read.
func cacheNote(p *reconcile.Plan) string {
	return "> [!NOTE]\n> **From the cache:** this plan was made with `--refresh=false` from the state's cache of earlier reads, not from the vendors; " +
		cacheSpan(p.Cache) + ". What changed on the vendors since is not shown."
}

// cacheLine is cacheNote for the terminal: the last line of a text plan
// made from the cache.
func cacheLine(p *reconcile.Plan) string {
	return "From the cache (--refresh=false), not the vendors: " + cacheSpan(p.Cache) + "; what changed on the vendors since is not shown."
}

// cacheSpan says when the cached reads of a plan were made.
func cacheSpan(c *reconcile.CacheSpan) string {
	switch {
	case c == nil || c.Newest.IsZero():
		return "the cache held no read of these groups"
	case c.Oldest.Equal(c.Newest):
		return "the groups were read at " + stamp(c.Newest)
	}
	return "the groups were read between " + stamp(c.Oldest) + " and " + stamp(c.Newest)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// cutNote counts by kind the groups named on one line and those left out,
// and says where the full plan is.
func cutNote(lined, left [numKinds]int, url string) string {
	var s strings.Builder
	s.WriteString("\n---\n**Plan cut** to fit in a comment (65,000 characters).")
	if l := kindCounts(lined); l != "" {
		s.WriteString(" Named without details: " + l + ".")
	}
	if l := kindCounts(left); l != "" {
		s.WriteString(" Left out: " + l + ".")
	}
	if url != "" {
		s.WriteString(" [The full plan](" + linkTarget(url) + ").")
	} else {
		s.WriteString(" Run `groupsync plan` for the full plan.")
	}
	s.WriteString("\n")
	return s.String()
}

// kindCounts is "3 groups with errors, 12 creates", kinds with none left out.
func kindCounts(n [numKinds]int) string {
	var out []string
	for k := range numKinds {
		if n[k] > 0 {
			noun := kindNames[k].many
			if n[k] == 1 {
				noun = kindNames[k].one
			}
			out = append(out, strconv.Itoa(n[k])+" "+noun)
		}
	}
	return strings.Join(out, ", ")
}

// linkTarget makes a URL safe inside a Markdown link's parentheses.
func linkTarget(url string) string {
	r := strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\n", "", "\r", "")
	return r.Replace(clean(url))
}

// listLine names a group on one line, for a cut plan.
func listLine(g *reconcile.GroupPlan, b *block) string {
	return "- `" + string(b.action) + "` " + cell(g.Key) + " · " + cell(g.Provider) + " · " +
		cell(g.GroupID) + ": " + cell(changes(g)) + "\n"
}

// detailsBlock is the group's diff block, under its key and changes;
// open shows it unfolded.
func detailsBlock(g *reconcile.GroupPlan, b *block, open bool) string {
	text := diffBlock(b)
	fence := fenceFor(text)
	summary := html.EscapeString(string(b.action) + " " + b.key + ": " + changes(g))
	tag := "<details>"
	if open {
		tag = "<details open>"
	}
	return "\n" + tag + "<summary>" + summary + "</summary>\n\n" +
		fence + "diff\n" + text + fence + "\n\n</details>\n"
}

// diffBlock is the group's block as in the text plan, but with every item's
// mark in the first column, where GitHub's diff highlighting looks for '+'
// and '-'; hints start with a space, as context lines.
func diffBlock(b *block) string {
	var s strings.Builder
	head := b.head
	if b.inline() {
		head = joinNonEmpty(head, b.items[0].text)
	}
	line := string(b.action) + " " + b.key
	if head != "" {
		line += "  " + head
	}
	s.WriteString(line + "\n")
	if b.inline() {
		if h := b.items[0].hint; h != "" {
			s.WriteString("      hint: " + h + "\n")
		}
		return s.String()
	}
	for _, it := range b.items {
		s.WriteString(string(it.mark) + "   " + it.text + "\n")
		if it.hint != "" {
			s.WriteString("      hint: " + it.hint + "\n")
		}
	}
	return s.String()
}

// changes is a short account of a group's steps for the table.
func changes(g *reconcile.GroupPlan) string {
	var out []string
	switch {
	case g.Bind != nil && g.Bind.Kind == reconcile.BindRetry:
		out = append(out, "retry create")
	case g.Create != nil:
		out = append(out, "create")
	}
	if g.Bind != nil {
		switch g.Bind.Kind {
		case reconcile.BindRename:
			out = append(out, "rename from "+clean(g.Bind.From))
		case reconcile.BindAdopt, reconcile.BindRecover:
			out = append(out, string(g.Bind.Kind))
		}
	}
	if len(g.SameNameOrphans) > 0 {
		out = append(out, "same name as "+clean(strings.Join(g.SameNameOrphans, ", "))+": renamed?")
	}
	if g.Rename != "" {
		out = append(out, "rename")
	}
	if g.SetOwner != nil {
		out = append(out, "new owner")
	}
	if len(g.Add) > 0 {
		out = append(out, "add "+count(len(g.Add), "member"))
	}
	if len(g.Remove) > 0 {
		out = append(out, "remove "+count(len(g.Remove), "member"))
	}
	if len(g.Notices) > 0 {
		out = append(out, count(len(g.Notices), "notice"))
	}
	if len(g.Banners) > 0 {
		out = append(out, count(len(g.Banners), "banner"))
	}
	if len(g.Drift) > 0 {
		out = append(out, count(len(g.Drift), "drift warning"))
	}
	if len(g.Errors) > 0 {
		out = append(out, count(len(g.Errors), "error"))
	}
	return strings.Join(out, ", ")
}

// cell makes s safe in a table cell: control characters escaped, HTML
// escaped and '|' backslashed.
func cell(s string) string {
	return strings.ReplaceAll(html.EscapeString(clean(s)), "|", `\|`)
}

// fenceFor is a backtick fence longer than any backtick run in s, so the
// block cannot be closed early by its content.
func fenceFor(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func runes(s string) int { return utf8.RuneCountInString(s) }

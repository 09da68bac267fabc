package render

import (
	"html"
	"io"
	"strings"
	"unicode/utf8"

	"groupsync/internal/reconcile"
)

// MaxMarkdown is the most characters Markdown writes, less than GitHub
// accepts in a comment (65,536).
const MaxMarkdown = 65000

// maxOrphansMarkdown is how many orphan keys a comment names.
const maxOrphansMarkdown = 50

// Markdown writes the plan for a pull-request comment: a heading, the
// summary line, a table of the groups shown, then each group's text block
// in a collapsed ```diff block. It writes fewer than MaxMarkdown characters:
// when the whole plan would not fit, it stops adding groups' blocks and ends
// with a note of how many groups have none. When even the table is too long,
// it is cut, no block is written, and the note counts the groups left out of
// the table.
func Markdown(w io.Writer, p *reconcile.Plan) error {
	if p == nil {
		return errNilPlan
	}
	groups := shownGroups(p)
	var head strings.Builder
	head.WriteString("### groupsync plan\n\n")
	head.WriteString(SummaryLine(p.Summary) + "\n")
	if lines := ProviderLines(p); len(lines) > 0 {
		text := strings.Join(lines, "\n")
		fence := fenceFor(text)
		head.WriteString("\n" + fence + "\n" + text + "\n" + fence + "\n")
	}
	if len(groups) == 0 && len(p.Orphans) == 0 {
		head.WriteString("\n" + noChanges + "\n")
	}
	var orphans string
	if len(p.Orphans) > 0 {
		orphans = "\n" + cell(orphansLine(p.Orphans, maxOrphansMarkdown)) + "\n"
	}
	rows := make([]string, len(groups))
	details := make([]string, len(groups))
	for i, g := range groups {
		b := newBlock(g)
		rows[i] = tableRow(g, &b)
		details[i] = detailsBlock(g, &b)
	}
	rowsN, detailsN := fit(runes(head.String())+runes(tableHead)+runes(orphans), rows, details, runes(cutNote(len(groups))))

	ew := &errWriter{w: w}
	ew.write(head.String())
	if rowsN > 0 {
		ew.write(tableHead)
		for _, r := range rows[:rowsN] {
			ew.write(r)
		}
	}
	ew.write(orphans)
	for _, d := range details[:detailsN] {
		ew.write(d)
	}
	switch {
	case rowsN < len(groups):
		ew.write(cutNote(len(groups) - rowsN))
	case detailsN < len(groups):
		ew.write(cutNote(len(groups) - detailsN))
	}
	return ew.err
}

// tableHead starts the summary table; its leading newline separates it from
// the summary line.
const tableHead = "\n| | group | provider | group id | changes |\n|---|---|---|---|---|\n"

// fit returns how many table rows and details blocks can be written after
// fixed characters and stay under MaxMarkdown: all of them when everything
// fits, otherwise as many as fit with room left for the note. The table comes
// first; when even it is cut, no details block is written.
func fit(fixed int, rows, details []string, note int) (rowsN, detailsN int) {
	total := fixed
	for i := range rows {
		total += runes(rows[i]) + runes(details[i])
	}
	if total < MaxMarkdown {
		return len(rows), len(details)
	}
	used := fixed + note
	for rowsN < len(rows) && used+runes(rows[rowsN]) < MaxMarkdown {
		used += runes(rows[rowsN])
		rowsN++
	}
	if rowsN < len(rows) {
		return rowsN, 0
	}
	for detailsN < rowsN && used+runes(details[detailsN]) < MaxMarkdown {
		used += runes(details[detailsN])
		detailsN++
	}
	return rowsN, detailsN
}

// cutNote says how many groups' blocks were left out.
func cutNote(n int) string {
	return "\n… " + count(n, "more group") +
		" not shown (output cut at 65,000 characters); run groupsync plan locally for the full plan\n"
}

func tableRow(g *reconcile.GroupPlan, b *block) string {
	return "| `" + string(b.action) + "` | " + cell(g.Key) + " | " + cell(g.Provider) + " | " +
		cell(g.GroupID) + " | " + cell(changes(g)) + " |\n"
}

// detailsBlock is the group's text block, collapsed under its key and changes.
func detailsBlock(g *reconcile.GroupPlan, b *block) string {
	var text strings.Builder
	writeBlock(&errWriter{w: &text}, b, width(b.key), false)
	fence := fenceFor(text.String())
	summary := html.EscapeString(string(b.action) + " " + b.key + ": " + changes(g))
	return "\n<details><summary>" + summary + "</summary>\n\n" +
		fence + "diff\n" + text.String() + fence + "\n\n</details>\n"
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

package render

import (
	"errors"
	"io"
	"strings"

	"groupsync/internal/reconcile"
)

// Options say how Text prints.
type Options struct {
	// Color marks '+', '~' and '!' with ANSI colours. The caller decides:
	// on a terminal and without NO_COLOR.
	Color bool
}

// ANSI colours of the action marks.
const (
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiReset  = "\x1b[0m"
)

// errNilPlan is returned for a nil plan.
var errNilPlan = errors.New("render: nil plan")

// Text writes the plan as SPEC section 3 shows it: one block per group that
// has something to show, in plan order, with the keys padded to one column,
// the state keys no manifest names, then a blank line and the summary line.
func Text(w io.Writer, p *reconcile.Plan, o Options) error {
	if p == nil {
		return errNilPlan
	}
	ew := &errWriter{w: w}
	groups := shownGroups(p)
	keyWidth := 0
	for _, g := range groups {
		keyWidth = max(keyWidth, width(clean(g.Key)))
	}
	// A provider's error first: its groups below refer to it.
	for _, l := range ProviderLines(p) {
		ew.line(l)
	}
	for _, g := range groups {
		b := newBlock(g)
		writeBlock(ew, &b, keyWidth, o.Color)
	}
	if len(p.Orphans) > 0 {
		ew.line(orphansLine(p.Orphans, 0))
	}
	if len(groups) == 0 && len(p.Orphans) == 0 {
		ew.line(noChanges)
	}
	ew.line("")
	ew.line(SummaryLine(p.Summary))
	if p.Cache != nil {
		// Said last, where a long plan's reader looks: this plan did not
		// read the vendors.
		ew.line(cacheLine(p))
	}
	return ew.err
}

// writeBlock prints one group: its header, then its items indented by four
// spaces, each hint two further.
func writeBlock(w *errWriter, b *block, keyWidth int, color bool) {
	head := b.head
	if b.inline() {
		head = joinNonEmpty(head, b.items[0].text)
	}
	line := mark(b.action, color) + " " + b.key
	if head != "" {
		line += strings.Repeat(" ", keyWidth-width(b.key)) + "  " + head
	}
	w.line(line)
	if b.inline() {
		if h := b.items[0].hint; h != "" {
			w.line("    hint: " + h)
		}
		return
	}
	for _, it := range b.items {
		w.line("    " + mark(it.mark, color) + " " + it.text)
		if it.hint != "" {
			w.line("      hint: " + it.hint)
		}
	}
}

// joinNonEmpty joins the non-empty of a and b with two spaces.
func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "  " + b
}

// mark is the action's character, coloured when asked.
func mark(a reconcile.Action, color bool) string {
	s := string(a)
	if !color {
		return s
	}
	switch a {
	case reconcile.ActionCreate:
		return ansiGreen + s + ansiReset
	case reconcile.ActionUpdate:
		return ansiYellow + s + ansiReset
	case reconcile.ActionReport, markRemove:
		return ansiRed + s + ansiReset
	}
	return s
}

// errWriter writes lines and keeps the first error, after which it writes
// nothing.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) line(s string) { e.write(s + "\n") }

func (e *errWriter) write(s string) {
	if e.err != nil {
		return
	}
	_, e.err = io.WriteString(e.w, s)
}

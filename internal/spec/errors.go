package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// String formats p as file:line:col, or just the file when the line is
// unknown (a file that cannot be read, for instance).
func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Error is one problem found in a manifest, at a place in a file.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats e as "file:line:col: message".
func (e *Error) Error() string {
	if where := e.Pos.String(); where != "" {
		return where + ": " + e.Msg
	}
	return e.Msg
}

// ErrorList is every problem found in one Load, sorted by file, line and
// column. Load returns it (never an empty one) as its error.
type ErrorList []*Error

// Error formats the list one error a line, with no trailing newline.
func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the list by file, line, column and message, and drops exact
// repeats.
func (l *ErrorList) Sort() {
	slices.SortStableFunc(*l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	*l = slices.CompactFunc(*l, func(a, b *Error) bool { return *a == *b })
}

// add records a problem at pos.
func (l *ErrorList) add(pos Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

package render

import (
	"strconv"
	"strings"

	"groupsync/internal/reconcile"
)

// SummaryLine is the plan's last line, for example
// "Plan: 1 group to create, 1 member to add, 1 notice, 0 banners; 2 drift warnings."
// Adoptions, removals and errors are named only when there are some.
func SummaryLine(s reconcile.Summary) string {
	parts := []string{count(s.Create, "group") + " to create"}
	if s.Adopt > 0 {
		parts = append(parts, count(s.Adopt, "group")+" to adopt")
	}
	parts = append(parts, count(s.AddMembers, "member")+" to add")
	if s.RemoveMembers > 0 {
		parts = append(parts, count(s.RemoveMembers, "member")+" to remove")
	}
	if s.Renames > 0 {
		parts = append(parts, count(s.Renames, "group")+" to rename")
	}
	if s.OwnerChanges > 0 {
		parts = append(parts, count(s.OwnerChanges, "owner")+" to change")
	}
	parts = append(parts,
		count(s.Notices, "notice"),
		count(s.Banners, "banner"))
	line := "Plan: " + strings.Join(parts, ", ") + "; " + count(s.Drift, "drift warning")
	if s.Errors > 0 {
		line += "; " + count(s.Errors, "error")
	}
	return line + "."
}

// count is "1 noun" or "n nouns".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

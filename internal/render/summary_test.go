package render

import (
	"testing"

	"groupsync/internal/reconcile"
)

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		s    reconcile.Summary
		want string
	}{
		{reconcile.Summary{Create: 1, AddMembers: 1, Notices: 1, Drift: 2},
			"Plan: 1 group to create, 1 member to add, 1 notice, 0 banners; 2 drift warnings."},
		{reconcile.Summary{},
			"Plan: 0 groups to create, 0 members to add, 0 notices, 0 banners; 0 drift warnings."},
		{reconcile.Summary{Create: 2, Adopt: 1, AddMembers: 3, Notices: 2, Banners: 1, Drift: 1, Errors: 1},
			"Plan: 2 groups to create, 1 group to adopt, 3 members to add, 2 notices, 1 banner; 1 drift warning; 1 error."},
		{reconcile.Summary{Adopt: 2, Errors: 3, InSync: 5, WriteCalls: 9, StateWrites: 2},
			"Plan: 0 groups to create, 2 groups to adopt, 0 members to add, 0 notices, 0 banners; 0 drift warnings; 3 errors."},
	}
	for _, tt := range tests {
		if got := SummaryLine(tt.s); got != tt.want {
			t.Errorf("SummaryLine(%+v)\n got %q\nwant %q", tt.s, got, tt.want)
		}
	}
}

package scale

import (
	"fmt"
	"time"
)

// Scenario is one benchmark setting: the size of the world, its drift from
// the manifest and the conditions the calls run under.
type Scenario struct {
	Groups  int // G: groups in the manifest
	Members int // M: members of each group (a Yunzhijia group's owner comes on top)

	// LunkrEvery puts every n-th group on Lunkr, the rest on Yunzhijia; 0
	// means Yunzhijia only. Lunkr cannot add members, so member drift is
	// only made on Yunzhijia groups.
	LunkrEvery int
	// WeComEvery puts every n-th group (n ≥ 2; the one before Lunkr's
	// pick) on WeCom; 0 means none. A WeCom group's adds and removes are
	// one appchat/update.
	WeComEvery int
	// MissingGroups is the share of groups that do not exist yet: apply
	// creates them with all their members and posts their notices.
	MissingGroups float64
	// MissingMembers is the share of the existing Yunzhijia groups' members
	// absent from the vendor. They are missing in blocks of a tenth of a
	// group's members, so MissingMembers*10 of those groups need one
	// add-members call each.
	MissingMembers float64
	// NewNotices is the share of existing Yunzhijia groups with a notice
	// not posted yet (every Yunzhijia group has a welcome notice, already
	// posted on the existing ones).
	NewNotices float64
	// Pruned is the share of the Yunzhijia groups that say prune: true. Half
	// of the existing ones (by another hash) hold extra members beyond the
	// manifest's, a twentieth of Members at least one, removed in one
	// delGroupUser call each; the other half need no removal.
	Pruned float64

	Latency     time.Duration // added by the simulators to every call
	Parallelism int           // concurrent vendor calls
	Rate        float64       // client rate limit, calls per second over all providers; 0 = unlimited
}

// String names the scenario as the benchmark line does.
func (s Scenario) String() string {
	return fmt.Sprintf("groups=%d members=%d latency=%s parallelism=%d rate=%s",
		s.Groups, s.Members, s.Latency, s.Parallelism, s.rateLabel())
}

func (s Scenario) rateLabel() string {
	if s.Rate <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s", s.Rate)
}

// The drift rules. Each is a pure function of the group index, salted so
// that the sets are independent of one another.
const (
	saltMissingGroup = 1 + iota
	saltMissingMembers
	saltNewNotice
	saltPruned
	saltExtras
)

// share reports whether group i falls in a share of the groups: a hash of
// (i, salt) compared with the share, so a set is spread over the groups.
func share(i, salt int, p float64) bool {
	if p <= 0 {
		return false
	}
	x := uint64(i)*0x9e3779b97f4a7c15 + uint64(salt)*0xbf58476d1ce4e5b9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < p
}

// onLunkr reports whether group i is on Lunkr.
func (s Scenario) onLunkr(i int) bool {
	return s.LunkrEvery > 0 && i%s.LunkrEvery == s.LunkrEvery-1
}

// onWeCom reports whether group i is on WeCom.
func (s Scenario) onWeCom(i int) bool {
	return s.WeComEvery > 1 && !s.onLunkr(i) && i%s.WeComEvery == s.WeComEvery-2
}

// missing reports whether group i does not exist on the vendor yet.
func (s Scenario) missing(i int) bool { return share(i, saltMissingGroup, s.MissingGroups) }

// lacking is how many of group i's members the vendor lacks: the first
// lacking(i) of its member list.
func (s Scenario) lacking(i int) int {
	if s.onLunkr(i) || s.missing(i) || !share(i, saltMissingMembers, s.MissingMembers*10) {
		return 0
	}
	return max(1, s.Members/10)
}

// pruned reports whether group i says prune: true.
func (s Scenario) pruned(i int) bool {
	return !s.onLunkr(i) && share(i, saltPruned, s.Pruned)
}

// extras is how many members existing group i holds beyond the manifest's:
// prune removes them.
func (s Scenario) extras(i int) int {
	if !s.pruned(i) || s.missing(i) || !share(i, saltExtras, 0.5) {
		return 0
	}
	return max(1, s.Members/20)
}

// newNotice reports whether group i has a notice not posted yet. A missing
// group posts every notice it has after its create.
func (s Scenario) newNotice(i int) bool {
	return !s.onLunkr(i) && !s.onWeCom(i) && share(i, saltNewNotice, s.NewNotices)
}

// notices is how many notices group i has in the manifest.
func (s Scenario) notices(i int) int {
	switch {
	case s.onLunkr(i) || s.onWeCom(i):
		return 0
	case s.newNotice(i):
		return 2
	}
	return 1
}

// Calls counts vendor calls by kind.
type Calls struct {
	Reads   int
	Creates int
	Adds    int
	Removes int
	Posts   int
	Other   int // any other call (group lists, unknown paths): never in the minimum
}

// Total is the number of calls.
func (c Calls) Total() int { return c.Reads + c.Creates + c.Adds + c.Removes + c.Posts + c.Other }

// MinCalls is the minimum of SPEC section 4 for a plan and an apply of the
// scenario: one read per existing group, one create per missing group, one
// add-members call per group lacking members, one remove call per pruned
// group holding extra members, one post per notice not posted yet; on
// WeCom, one appchat/update (an add) carries both the adds and the removes.
func (s Scenario) MinCalls() Calls {
	var c Calls
	for i := range s.Groups {
		switch {
		case s.missing(i):
			c.Creates++
			c.Posts += s.notices(i)
		default:
			c.Reads++
			if s.onWeCom(i) {
				if s.lacking(i) > 0 || s.extras(i) > 0 {
					c.Adds++
				}
				continue
			}
			if s.lacking(i) > 0 {
				c.Adds++
			}
			if s.extras(i) > 0 {
				c.Removes++
			}
			if s.newNotice(i) {
				c.Posts++
			}
		}
	}
	return c
}

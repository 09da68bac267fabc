// Package reconcile turns a validated manifest, what the vendors say and the
// state into a plan, and executes plans.
//
// The plan (plan.go) is plain data: one GroupPlan a group with its steps
// (a state binding, a create, one add-members, posts), the drift it cannot
// fix and the errors that block it, and a Summary. Build and Builder make it
// with no I/O; the renderers only format it; Apply only executes its steps.
//
// Invariants:
//   - A group whose read failed, or whose create has an unknown outcome, gets
//     no write: it is shown as an error with the fix.
//   - A failed read is never taken to mean the group is gone; only the
//     vendor's "not found" is, and even then nothing is recreated silently.
//   - Writes are the fewest that converge: one create per missing group with
//     all its members, at most one add-members and (prune) one remove-members
//     per group, the remove after the add, one post per new notice or banner
//     content.
//   - Prune removes only live members the group's manifest entry does not
//     list, and never its owner, its provider's operator or a live manager
//     (they stay drift); a saved plan's removals are checked against the
//     manifest (CheckRemovals).
//   - Every create and post is journaled in the state before it is sent and
//     completed after; a lost answer leaves the intent open, and the next plan
//     blocks that step until it is resolved (Lunkr lost creates are found
//     through groups/list). Nothing is ever sent twice blindly.
//   - Apply converges each group on its own: one group's failure is recorded
//     and does not stop the others; on cancellation, calls in flight finish
//     and are recorded, and no new call starts. A deadline on Apply's context
//     bounds every vendor call, those in flight included (one cut off is an
//     unknown outcome); journal writes never get a deadline.
package reconcile

package yunzhijia

import "groupsync/internal/vendors/simfault"

// Faults are the simulator's failure knobs, for retry, unknown-outcome and
// load tests; see simfault.Faults.
type Faults = simfault.Faults

// SetFaults replaces the fault knobs (and restarts their random sequence).
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.Set(f)
}

// FailNextAfterApply makes the next n successful calls named call (reads
// too) be applied, then answered 500, whatever the Faults say.
func (s *Simulator) FailNextAfterApply(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.FailNext(call, n)
}

// Calls returns how many requests each call received, faulted ones
// included, by call name (createGroup, addGroupUser, delGroupUser,
// groupUsers, groupInfo, notice/create, banner/create, merge).
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counts.
func (s *Simulator) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

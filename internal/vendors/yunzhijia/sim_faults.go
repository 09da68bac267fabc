package yunzhijia

import (
	"context"
	"time"

	"groupsync/internal/vendors/simfault"
)

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

// LandLate makes the next n calls named call (writes: createGroup,
// notice/create, …) be applied delay after they arrived, whether or not the
// client still waits for the answer: a vendor that acts on a request its
// client timed out on or was killed during. The client gets the answer only
// if it waited.
func (s *Simulator) LandLate(call string, delay time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.LandLate(call, delay, n)
}

// WaitLanded returns when every write to be applied late has been, or
// ctx's error.
func (s *Simulator) WaitLanded(ctx context.Context) error { return s.landings.Wait(ctx) }

// LateWrites returns how many writes to be applied late are pending, and
// how many have landed.
func (s *Simulator) LateWrites() (pending, landed int) { return s.landings.Count() }

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

// BadIDNext makes the next n calls named call that succeed answer with id
// in place of the id the vendor made (createGroup's groupId, a notice's or
// a banner's id, merge's id) or, for groupUsers, with id as one more
// participant: a vendor that breaks its own id rules. The call is applied.
func (s *Simulator) BadIDNext(call, id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.BadIDNext(call, id, n)
}

// EchoTokenNext makes the next n calls named call be refused (errorCode
// 400, not applied) with a message that echoes the access token in
// encoding, one of simfault.TokenEncodings.
func (s *Simulator) EchoTokenNext(call, encoding string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.EchoTokenNext(call, encoding, n)
}

// withBadID puts id where ans, a success, carries the id made.
func withBadID(ans any, id string) any {
	switch a := ans.(type) {
	case answer:
		switch d := a.Data.(type) {
		case groupInfo:
			d.GroupID = id
			a.Data = d
		case noticeInfo:
			d.NoticeID = id
			a.Data = d
		case bannerInfo:
			a.Data = bannerInfo{BannerID: id}
		case string:
			a.Data = id
		}
		return a
	case answerNoError:
		if d, ok := a.Data.(groupUsersData); ok {
			d.ParticipantIDs = append(d.ParticipantIDs, id)
			a.Data = d
		}
		return a
	}
	return ans
}

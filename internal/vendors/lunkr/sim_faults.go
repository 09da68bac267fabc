package lunkr

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"groupsync/internal/vendors/simfault"
)

// Faults makes the simulator misbehave the ways a real vendor does, for
// tests and benchmarks; see simfault.Faults. The zero value is a
// well-behaved vendor.
type Faults = simfault.Faults

// knobs is the simulator's fault state; s.mu guards it. Next to the shared
// injector it holds the knobs only lunkr has.
type knobs struct {
	inj      simfault.Injector       // Faults and FailNextAfterApply
	forced   map[string]forcedCode   // call -> code to answer instead
	rejectN  map[string]forcedStatus // call -> status to answer instead
	rejected map[string]bool         // normalised user refs answered 20101
	tokens   map[string]bool         // accepted tokens; empty accepts any
	listKey  string                  // groups/list payload key: "data" or "var"
}

type forcedCode struct {
	code string
	n    int
}

type forcedStatus struct {
	status int
	n      int
}

func newKnobs(tokens []string) knobs {
	k := knobs{
		forced:   map[string]forcedCode{},
		rejectN:  map[string]forcedStatus{},
		rejected: map[string]bool{},
		tokens:   map[string]bool{},
		listKey:  "data",
	}
	for _, t := range tokens {
		k.tokens[t] = true
	}
	return k
}

// before decides, as a request arrives, its latency and whether it is
// turned away (status, Retry-After) without being looked at. A pending
// RejectNext comes first, with no latency and no draw from Faults.
func (k *knobs) before(call string) simfault.Arrival {
	if r, ok := k.rejectN[call]; ok && r.n > 0 {
		r.n--
		k.rejectN[call] = r
		return simfault.Arrival{Status: r.status, RetryAfter: statusRetryAfter(r.status)}
	}
	return k.inj.Before(call)
}

func statusRetryAfter(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "0"
	case http.StatusServiceUnavailable:
		return "1"
	}
	return ""
}

// forcedCodeFor consumes a forced code for call, if one is pending.
func (k *knobs) forcedCodeFor(call string) (string, bool) {
	f, ok := k.forced[call]
	if !ok || f.n <= 0 {
		return "", false
	}
	f.n--
	k.forced[call] = f
	return f.code, true
}

// SetFaults replaces the fault settings (and restarts their random draws
// and rate limiter).
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.inj.Set(f)
}

// FailNextAfterApply makes the next n successful calls named call be
// applied and then answered 500, as when the vendor's answer is lost. For a
// read, applying changes nothing; a call answered with an error code is not
// applied and does not count.
func (s *Simulator) FailNextAfterApply(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.inj.FailNext(call, n)
}

// LandLate makes the next n calls named call (writes: groups/create) be
// applied delay after they arrived, whether or not the client still waits
// for the answer: a vendor that acts on a request its client timed out on
// or was killed during. The client gets the answer only if it waited.
func (s *Simulator) LandLate(call string, delay time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.inj.LandLate(call, delay, n)
}

// WaitLanded returns when every write to be applied late has been, or
// ctx's error.
func (s *Simulator) WaitLanded(ctx context.Context) error { return s.landings.Wait(ctx) }

// LateWrites returns how many writes to be applied late are pending, and
// how many have landed.
func (s *Simulator) LateWrites() (pending, landed int) { return s.landings.Count() }

// ForceCode makes the next n calls named call (that pass the token and
// method checks) answer HTTP 200 with the envelope code, without being
// applied: e.g. ForceCode(CallInfo, CodeNoPermission, 1).
func (s *Simulator) ForceCode(call, code string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.forced[call] = forcedCode{code: code, n: n}
}

// RejectNext makes the next n calls named call be answered status without
// being looked at or applied (429 with Retry-After: 0, 503 with
// Retry-After: 1). Unlike Faults it is exact, for tests that count attempts.
func (s *Simulator) RejectNext(call string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.rejectN[call] = forcedStatus{status: status, n: n}
}

// RejectUser makes every reference to the user (a uid or an email, case
// ignored) answer 20101 user not found, registered or not.
func (s *Simulator) RejectUser(idOrEmail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.rejected[normRef(idOrEmail)] = true
}

// SetTokens replaces the accepted access tokens (e.g. to expire one). With
// none, any non-empty token is accepted.
func (s *Simulator) SetTokens(tokens ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.tokens = map[string]bool{}
	for _, t := range tokens {
		s.knobs.tokens[t] = true
	}
}

// SetListPayloadKey chooses where groups/list answers carry their payload:
// "data" (the default, as in the vendor's documented example) or "var" (as
// its table says).
func (s *Simulator) SetListPayloadKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(key, "var") {
		s.knobs.listKey = "var"
	} else {
		s.knobs.listKey = "data"
	}
}

// BadIDNext makes the next n calls named call that succeed answer with id
// in place of the group id (groups/create, groups/info, a groups/list
// entry), as a vendor that breaks its own id rules would: the create is
// applied, its answer carries the wrong id.
func (s *Simulator) BadIDNext(call, id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.inj.BadIDNext(call, id, n)
}

// EchoTokenNext makes the next n calls named call be refused (code 20102,
// not applied) with a message that echoes the access token in encoding, one
// of simfault.TokenEncodings.
func (s *Simulator) EchoTokenNext(call, encoding string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.inj.EchoTokenNext(call, encoding, n)
}

// withBadID puts id where ans, a success, carries a group id.
func withBadID(ans simAnswer, id string) simAnswer {
	switch v := ans.Var.(type) {
	case map[string]string: // groups/create
		ans.Var = map[string]string{"groupId": id}
	case simInfo:
		v.GroupID = id
		ans.Var = v
	}
	for _, p := range []*any{&ans.Var, &ans.Data} {
		if l, ok := (*p).(simList); ok {
			l.Topic = append(slices.Clone(l.Topic), simRef{UserID: id, UserName: "crafted"})
			*p = l
		}
	}
	return ans
}

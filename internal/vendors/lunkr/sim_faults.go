package lunkr

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Faults makes the simulator misbehave the ways a real vendor does, for
// tests and benchmarks. The zero value is a well-behaved vendor.
type Faults struct {
	Latency        time.Duration // added to every call
	Status503Rate  float64       // share answered 503 with Retry-After: 1, not applied
	Status429Rate  float64       // share answered 429 with Retry-After: 0, not applied
	RateLimit      float64       // requests per second accepted; above it 429 (not applied); 0 = unlimited
	LoseAnswerRate float64       // share of write calls applied, then answered 500
	DropRate       float64       // share of write calls applied, then the connection closed with no answer
	Calls          []string      // when non-empty, every fault above applies only to these call names
	Seed           int64         // seeds the draws, so that a run can be repeated
}

// knobs is the simulator's fault state; s.mu guards it.
type knobs struct {
	faults    Faults
	only      map[string]bool
	rng       *rand.Rand
	limiter   *rate.Limiter
	failAfter map[string]int          // call -> answers to fail after applying
	forced    map[string]forcedCode   // call -> code to answer instead
	rejectN   map[string]forcedStatus // call -> status to answer instead
	rejected  map[string]bool         // normalised user refs answered 20101
	tokens    map[string]bool         // accepted tokens; empty accepts any
	listKey   string                  // groups/list payload key: "data" or "var"
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
		failAfter: map[string]int{},
		forced:    map[string]forcedCode{},
		rejectN:   map[string]forcedStatus{},
		rejected:  map[string]bool{},
		tokens:    map[string]bool{},
		listKey:   "data",
	}
	for _, t := range tokens {
		k.tokens[t] = true
	}
	k.setFaults(Faults{})
	return k
}

func (k *knobs) setFaults(f Faults) {
	f.Calls = append([]string(nil), f.Calls...)
	k.faults = f
	k.only = nil
	if len(f.Calls) > 0 {
		k.only = map[string]bool{}
		for _, c := range f.Calls {
			k.only[c] = true
		}
	}
	k.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x6c756e6b72))
	k.limiter = nil
	if f.RateLimit > 0 {
		k.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), max(1, int(math.Ceil(f.RateLimit))))
	}
}

func (k *knobs) applies(call string) bool {
	return k.only == nil || k.only[call]
}

func (k *knobs) roll(p float64) bool {
	return p > 0 && k.rng.Float64() < p
}

// before decides, as a request arrives, its latency and whether it is
// turned away (status, Retry-After) without being looked at.
func (k *knobs) before(call string) (latency time.Duration, status int, retryAfter string) {
	if r, ok := k.rejectN[call]; ok && r.n > 0 {
		r.n--
		k.rejectN[call] = r
		return 0, r.status, statusRetryAfter(r.status)
	}
	if !k.applies(call) {
		return 0, 0, ""
	}
	latency = k.faults.Latency
	switch {
	case k.limiter != nil && !k.limiter.Allow():
		return latency, http.StatusTooManyRequests, "1"
	case k.roll(k.faults.Status429Rate):
		return latency, http.StatusTooManyRequests, "0"
	case k.roll(k.faults.Status503Rate):
		return latency, http.StatusServiceUnavailable, "1"
	}
	return latency, 0, ""
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

// afterApply decides what becomes of the answer to a call that was applied.
type afterAction int

const (
	answer afterAction = iota
	lose               // answer 500
	drop               // close the connection with no answer
)

func (k *knobs) afterApply(call string, write bool) afterAction {
	if n := k.failAfter[call]; n > 0 {
		k.failAfter[call] = n - 1
		return lose
	}
	if !write || !k.applies(call) {
		return answer
	}
	switch {
	case k.roll(k.faults.LoseAnswerRate):
		return lose
	case k.roll(k.faults.DropRate):
		return drop
	}
	return answer
}

// SetFaults replaces the fault settings (and restarts their random draws
// and rate limiter).
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.setFaults(f)
}

// FailNextAfterApply makes the next n successful calls named call be
// applied and then answered 500, as when the vendor's answer is lost. For a
// read, applying changes nothing; a call answered with an error code is not
// applied and does not count.
func (s *Simulator) FailNextAfterApply(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs.failAfter[call] = n
}

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

package yunzhijia

import (
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the simulator's failure knobs, for retry, unknown-outcome and
// load tests. Rates are shares in [0, 1], drawn from a generator seeded with
// Seed, so a run is repeatable.
type Faults struct {
	Latency        time.Duration // added to every call
	Status503Rate  float64       // share answered 503 with Retry-After: 1, not applied
	Status429Rate  float64       // share answered 429 with Retry-After: 0, not applied
	RateLimit      float64       // requests per second accepted; above it 429 with Retry-After: 1, not applied; 0 = unlimited
	LoseAnswerRate float64       // share of write calls applied, then answered 500 (outcome unknown to the client)
	DropRate       float64       // share of write calls applied, then the connection is closed with no answer
	Calls          []string      // when non-empty, faults apply only to these call names
	Seed           int64
}

// SetFaults replaces the fault knobs (and restarts their random sequence).
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.reset(f)
}

// FailNextAfterApply makes the next n successful calls named call (reads
// too) be applied, then answered 500, whatever the Faults say.
func (s *Simulator) FailNextAfterApply(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults.failNext[call] = n
}

// Calls returns how many requests each call received, faulted ones
// included, by call name (createGroup, addGroupUser, groupUsers,
// notice/create, banner/create, merge).
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

// faultState is guarded by Simulator.mu.
type faultState struct {
	f        Faults
	rng      *rand.Rand
	limiter  *rate.Limiter
	failNext map[string]int
}

func (fs *faultState) reset(f Faults) {
	f.Calls = slices.Clone(f.Calls)
	fs.f = f
	fs.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x9e3779b97f4a7c15))
	fs.limiter = nil
	if f.RateLimit > 0 {
		fs.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), max(1, int(math.Ceil(f.RateLimit))))
	}
	if fs.failNext == nil {
		fs.failNext = make(map[string]int)
	}
}

func (fs *faultState) applies(call string) bool {
	return len(fs.f.Calls) == 0 || slices.Contains(fs.f.Calls, call)
}

func (fs *faultState) hit(rate float64) bool {
	return rate > 0 && fs.rng.Float64() < rate
}

// preFault is what happens to a call before it is looked at.
type preFault struct {
	latency    time.Duration
	status     int    // non-zero: answer this status, do not apply
	retryAfter string // its Retry-After header
}

func (fs *faultState) before(call string) preFault {
	if !fs.applies(call) {
		return preFault{}
	}
	p := preFault{latency: fs.f.Latency}
	switch {
	case fs.limiter != nil && !fs.limiter.Allow():
		p.status, p.retryAfter = http.StatusTooManyRequests, "1"
	case fs.hit(fs.f.Status503Rate):
		p.status, p.retryAfter = http.StatusServiceUnavailable, "1"
	case fs.hit(fs.f.Status429Rate):
		p.status, p.retryAfter = http.StatusTooManyRequests, "0"
	}
	return p
}

// postFault is what happens to the answer of an applied call.
type postFault int

const (
	postNone postFault = iota
	postLose           // answer 500
	postDrop           // close the connection without an answer
)

func (fs *faultState) after(call string, write bool) postFault {
	if fs.failNext[call] > 0 {
		fs.failNext[call]--
		return postLose
	}
	if !write || !fs.applies(call) {
		return postNone
	}
	switch {
	case fs.hit(fs.f.LoseAnswerRate):
		return postLose
	case fs.hit(fs.f.DropRate):
		return postDrop
	}
	return postNone
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2: abort the stream
}

// Package simfault is the fault injection shared by the vendor simulators
// (yunzhijia, lunkr): added latency, calls refused with 429 or 503 before
// they are looked at, a rate limit, and answers lost (500) or connections
// dropped after a write was applied, writes applied late (after the client
// gave up or was killed), answers carrying ids of the wrong shape
// (BadIDNext), and errors echoing the access token in any encoding
// (EchoTokenNext), so that retry, unknown-outcome, answer-checking, leak and
// load tests can run against a misbehaving vendor.
//
// An Injector is not safe for concurrent use: each simulator guards its own
// with the same mutex as its world, as it does every other piece of state.
// The simulator decides which calls are writes and which were applied; the
// injector only decides what becomes of them.
package simfault

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"golang.org/x/time/rate"
)

// Faults are a simulator's failure knobs. Rates are shares in [0, 1], drawn
// from a generator seeded with Seed, so a run is repeatable. The zero value
// is a well-behaved vendor.
type Faults struct {
	Latency        time.Duration // added to every call
	Status503Rate  float64       // share answered 503 with Retry-After: 1, not applied
	Status429Rate  float64       // share answered 429 with Retry-After: 0, not applied
	RateLimit      float64       // requests per second accepted; above it 429 with Retry-After: 1, not applied; 0 = unlimited
	LoseAnswerRate float64       // share of write calls applied, then answered 500 (outcome unknown to the client)
	DropRate       float64       // share of write calls applied, then the connection is closed with no answer
	Calls          []string      // when non-empty, every fault above applies only to these call names
	Seed           int64         // seeds the draws, so that a run can be repeated
	// LateRate is the share of write calls applied LateDelay after they
	// arrived, whether or not the client still waits: a vendor that acts
	// on a request its client timed out on, or was killed during. Calls
	// filters it as it does the faults above.
	LateRate  float64
	LateDelay time.Duration
}

// Injector holds the state behind Faults: the seeded draws, the rate limiter
// and the fail-next counters. Its zero value injects nothing. The simulator
// that owns it guards it with its own mutex.
type Injector struct {
	faults   Faults
	only     map[string]bool // nil: every call
	rng      *rand.Rand
	limiter  *rate.Limiter
	failNext map[string]int // call -> applied calls still to answer 500
	badID    map[string]pending
	echo     map[string]pending
	late     map[string]lateCount
}

type lateCount struct {
	delay time.Duration
	n     int
}

// pending is a value to use for the next n calls.
type pending struct {
	v string
	n int
}

func take(m map[string]pending, call string) (string, bool) {
	p, ok := m[call]
	if !ok || p.n <= 0 {
		return "", false
	}
	p.n--
	m[call] = p
	return p.v, true
}

// Set replaces the fault knobs and restarts their random draws and rate
// limiter. Pending FailNext counts are kept.
func (in *Injector) Set(f Faults) {
	f.Calls = append([]string(nil), f.Calls...)
	in.faults = f
	in.only = nil
	if len(f.Calls) > 0 {
		in.only = make(map[string]bool, len(f.Calls))
		for _, c := range f.Calls {
			in.only[c] = true
		}
	}
	in.rng = rand.New(rand.NewPCG(uint64(f.Seed), 0x9e3779b97f4a7c15))
	in.limiter = nil
	if f.RateLimit > 0 {
		in.limiter = rate.NewLimiter(rate.Limit(f.RateLimit), max(1, int(math.Ceil(f.RateLimit))))
	}
}

// FailNext makes AfterApply answer Lose for the next n calls named call,
// reads included, whatever Faults says and whatever Calls filters.
func (in *Injector) FailNext(call string, n int) {
	if in.failNext == nil {
		in.failNext = make(map[string]int)
	}
	in.failNext[call] = n
}

// BadIDNext makes the next n calls named call that are applied and
// answered carry id where the answer has the id the vendor made (a create's
// group id, a post's id) or, for a read, an extra member id: the crafted
// answers of a vendor that does not keep to its own id rules.
func (in *Injector) BadIDNext(call, id string, n int) {
	if in.badID == nil {
		in.badID = make(map[string]pending)
	}
	in.badID[call] = pending{id, n}
}

// BadID consumes a pending BadIDNext for call.
func (in *Injector) BadID(call string) (string, bool) { return take(in.badID, call) }

// EchoTokenNext makes the next n calls named call be refused, not
// applied, with an error that echoes the access token in encoding (see
// EncodeToken), as a careless vendor or proxy does.
func (in *Injector) EchoTokenNext(call, encoding string, n int) {
	if in.echo == nil {
		in.echo = make(map[string]pending)
	}
	in.echo[call] = pending{encoding, n}
}

// EchoToken consumes a pending EchoTokenNext for call: the encoding.
func (in *Injector) EchoToken(call string) (string, bool) { return take(in.echo, call) }

// TokenEncodings are the encodings EncodeToken knows, each a way a token
// has been seen echoed: raw; query-escaped with upper- or lower-case hex;
// path-escaped; JSON with `\/`; JSON with `\u002b` (lower case) or
// `\u002B` (upper case) escapes; every character `\u`-escaped.
var TokenEncodings = []string{"raw", "query", "query-lower", "path", "path-lower", "json-slash", "json-u-lower", "json-u-upper", "json-every-char"}

// EncodeToken returns tok in one of TokenEncodings (raw for an unknown one).
func EncodeToken(tok, encoding string) string {
	switch encoding {
	case "query":
		return url.QueryEscape(tok)
	case "query-lower":
		return lowerHex(url.QueryEscape(tok))
	case "path":
		return url.PathEscape(tok)
	case "path-lower":
		return lowerHex(url.PathEscape(tok))
	case "json-slash":
		return strings.ReplaceAll(tok, "/", `\/`)
	case "json-u-lower", "json-u-upper", "json-every-char":
		var b strings.Builder
		for _, u := range utf16.Encode([]rune(tok)) {
			switch {
			case encoding == "json-every-char":
				fmt.Fprintf(&b, `\u%04x`, u)
			case u == '+' || u == '/' || u == '=' || u == '&' || u >= 0x80:
				if encoding == "json-u-lower" {
					fmt.Fprintf(&b, `\u%04x`, u)
				} else {
					fmt.Fprintf(&b, `\u%04X`, u)
				}
			default:
				b.WriteRune(rune(u))
			}
		}
		return b.String()
	}
	return tok
}

// lowerHex lower-cases the hex digits of every %XX in s.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			copy(b[i+1:i+3], strings.ToLower(string(b[i+1:i+3])))
		}
	}
	return string(b)
}

// LandLate makes the next n write calls named call be applied delay after
// they arrived, whatever Faults says and whatever Calls filters.
func (in *Injector) LandLate(call string, delay time.Duration, n int) {
	if in.late == nil {
		in.late = make(map[string]lateCount)
	}
	in.late[call] = lateCount{delay: delay, n: n}
}

// Late decides whether a write call that passed the simulator's checks is
// applied late, and how long after its arrival: a pending LandLate count
// first, then LateRate. Reads are never late.
func (in *Injector) Late(call string, write bool) (time.Duration, bool) {
	if !write {
		return 0, false
	}
	if l := in.late[call]; l.n > 0 {
		l.n--
		in.late[call] = l
		return l.delay, true
	}
	if in.applies(call) && in.hit(in.faults.LateRate) {
		return in.faults.LateDelay, true
	}
	return 0, false
}

func (in *Injector) applies(call string) bool {
	return in.only == nil || in.only[call]
}

func (in *Injector) hit(p float64) bool {
	return p > 0 && in.rng.Float64() < p
}

// Arrival is what becomes of a call as it arrives, before it is looked at.
type Arrival struct {
	Latency    time.Duration // wait this long first
	Status     int           // non-zero: answer this status, do not apply
	RetryAfter string        // the Retry-After header to send with Status
}

// Before decides a call's latency and whether it is turned away: over the
// rate limit (429, Retry-After: 1), by Status503Rate (503, Retry-After: 1)
// or by Status429Rate (429, Retry-After: 0). A call that Calls leaves out
// gets nothing.
func (in *Injector) Before(call string) Arrival {
	if !in.applies(call) {
		return Arrival{}
	}
	a := Arrival{Latency: in.faults.Latency}
	switch {
	case in.limiter != nil && !in.limiter.Allow():
		a.Status, a.RetryAfter = http.StatusTooManyRequests, "1"
	case in.hit(in.faults.Status503Rate):
		a.Status, a.RetryAfter = http.StatusServiceUnavailable, "1"
	case in.hit(in.faults.Status429Rate):
		a.Status, a.RetryAfter = http.StatusTooManyRequests, "0"
	}
	return a
}

// Outcome is what becomes of the answer to a call that was applied.
type Outcome int

const (
	Answer Outcome = iota // answer as usual
	Lose                  // answer 500: the client cannot know it was applied
	Drop                  // close the connection with no answer (see DropConnection)
)

// AfterApply decides the answer to a call the simulator applied
// successfully; the caller says whether it is a write. A pending FailNext
// count is consumed first, for reads too; otherwise only writes that Calls
// lets through may be lost (LoseAnswerRate) or dropped (DropRate).
func (in *Injector) AfterApply(call string, write bool) Outcome {
	if n := in.failNext[call]; n > 0 {
		in.failNext[call] = n - 1
		return Lose
	}
	if !write || !in.applies(call) {
		return Answer
	}
	switch {
	case in.hit(in.faults.LoseAnswerRate):
		return Lose
	case in.hit(in.faults.DropRate):
		return Drop
	}
	return Answer
}

// DropConnection closes the client's connection without an answer. Over
// HTTP/2, where the connection cannot be taken over, it aborts the stream
// by panicking with http.ErrAbortHandler, which net/http recovers.
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Landings runs the writes a simulator applies late, each on its own
// goroutine after its delay, whether or not the client still waits, and lets
// tests wait until all have landed. Its zero value is ready; it is safe for
// concurrent use.
type Landings struct {
	mu      sync.Mutex
	pending int
	landed  int
	idle    chan struct{} // closed when pending drops to 0; nil while none is pending
}

// At runs apply at time at (at once if it is past) and returns a channel
// closed after it ran.
func (l *Landings) At(at time.Time, apply func()) <-chan struct{} {
	l.mu.Lock()
	if l.pending == 0 {
		l.idle = make(chan struct{})
	}
	l.pending++
	l.mu.Unlock()
	done := make(chan struct{})
	time.AfterFunc(time.Until(at), func() {
		defer close(done)
		apply()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.landed++
		if l.pending--; l.pending == 0 {
			close(l.idle)
			l.idle = nil
		}
	})
	return done
}

// Wait returns when no late write is pending, or ctx's error.
func (l *Landings) Wait(ctx context.Context) error {
	l.mu.Lock()
	idle := l.idle
	l.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Count returns how many late writes are pending and how many have landed.
func (l *Landings) Count() (pending, landed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending, l.landed
}

package metrics

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"groupsync/internal/state"
)

// Health decides /healthz: unhealthy while a run is past its deadline
// (RunStarted), and once runs have been failing, with no success in
// between, for longer than its window (NewHealth). It is safe for
// concurrent use.
type Health struct {
	window time.Duration
	now    func() time.Time

	mu           sync.Mutex
	failingSince time.Time // zero while the latest finished run succeeded
	lastError    string
	runStarted   time.Time // zero while no run is going
	runDeadline  time.Time
}

// RunStarted says a run started at the given time and must end by deadline;
// RunEnded says it ended.
func (h *Health) RunStarted(at, deadline time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runStarted, h.runDeadline = at, deadline
}

// RunEnded says the run in progress ended (Record takes its outcome).
func (h *Health) RunEnded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runStarted, h.runDeadline = time.Time{}, time.Time{}
}

// NewHealth returns a Health with the given window; now is the clock (nil:
// time.Now).
func NewHealth(window time.Duration, now func() time.Time) *Health {
	if now == nil {
		now = time.Now
	}
	return &Health{window: window, now: now}
}

// Record takes the outcome of a run that ended at the given time. A failure
// starts (or continues) a failing streak, reason being its error; a success
// ends it; interrupted and skipped runs change nothing.
func (h *Health) Record(outcome state.Outcome, at time.Time, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch outcome {
	case OutcomeOK:
		h.failingSince, h.lastError = time.Time{}, ""
	case OutcomeFailed:
		if h.failingSince.IsZero() {
			h.failingSince = at
		}
		h.lastError = reason
	}
}

// Check reports whether the process is healthy and, when it is not, why:
// a failing streak longer than the window, a run past its deadline, or both.
func (h *Health) Check() (ok bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	var reasons []string
	if !h.failingSince.IsZero() {
		if d := now.Sub(h.failingSince); d > h.window {
			r := fmt.Sprintf("runs have failed since %s (%s, longer than the health window %s)",
				h.failingSince.UTC().Format(time.RFC3339), d.Round(time.Second), h.window)
			if h.lastError != "" {
				r += ": last error: " + h.lastError
			}
			reasons = append(reasons, r)
		}
	}
	if !h.runStarted.IsZero() && now.After(h.runDeadline) {
		// Past its deadline a run should have stopped: something ignores it.
		reasons = append(reasons, fmt.Sprintf("the run started at %s is still going, %s past its deadline %s",
			h.runStarted.UTC().Format(time.RFC3339), now.Sub(h.runDeadline).Round(time.Second), h.runDeadline.UTC().Format(time.RFC3339)))
	}
	return len(reasons) == 0, strings.Join(reasons, "; ")
}

// ServeHTTP answers 200 "ok" when healthy, else 503 with the reason.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if ok, reason := h.Check(); !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unhealthy:", reason)
		return
	}
	fmt.Fprintln(w, "ok")
}

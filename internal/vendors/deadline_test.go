package vendors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// A read that is never answered fails when ctx's deadline passes, after one
// attempt, not after MaxAttempts × the client's 30 s timeout (issue 11's
// 153 s report).
func TestNeverAnsweredReadBoundedByDeadline(t *testing.T) {
	release := make(chan struct{})
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := &Transport{Vendor: "test", BaseURL: srv.URL + "/", HTTP: NewHTTPClient(30 * time.Second), Token: StaticToken("p", "tok-deadline")}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tr.Do(ctx, Call{Name: "read", Method: http.MethodGet, Path: "x", Safe: true}, func([]byte) error { return nil })
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s, want about the 200ms deadline", took)
	}
	if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("got %v, want a transient failure that names the deadline", err)
	}
	if n := attempts.Load(); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

// A retry whose wait would end past the deadline is not made: the vendor's
// error comes back at once, with no sleep.
func TestNoRetryPastDeadline(t *testing.T) {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var waits []time.Duration
	tr := &Transport{Vendor: "test", BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: StaticToken("p", "tok"),
		Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := tr.Do(ctx, Call{Name: "read", Method: http.MethodGet, Path: "x", Safe: true}, func([]byte) error { return nil })
	if !errors.Is(err, ErrTransient) || !strings.Contains(err.Error(), "503") {
		t.Errorf("got %v, want the 503", err)
	}
	if n := attempts.Load(); n != 1 || len(waits) != 0 {
		t.Errorf("attempts = %d, waits = %v; want 1 attempt and no wait", n, waits)
	}
	// With time for the wait, the same call is retried.
	tr.BackoffMax = time.Millisecond
	if err := tr.Do(context.Background(), Call{Name: "read", Method: http.MethodGet, Path: "x", Safe: true}, func([]byte) error { return nil }); err == nil {
		t.Fatal("want the 503 after retries")
	}
	if len(waits) == 0 {
		t.Error("no retry without a deadline")
	}
}

// PathLimit gives each endpoint its own limiter; Limiter, when set, is the
// one limit for every path (the manifest's rateLimit overrides the default).
func TestPathLimiters(t *testing.T) {
	tr := &Transport{PathLimit: 25}
	a, b := tr.limiter("xtinterface/group/groupUsers"), tr.limiter("xtinterface/group/createGroup")
	if a == nil || b == nil || a == b {
		t.Fatalf("limiters %p %p, want one per path", a, b)
	}
	if tr.limiter("xtinterface/group/groupUsers") != a {
		t.Error("a path's limiter changed between calls")
	}
	if a.Limit() != 25 || a.Burst() != 1 {
		t.Errorf("limit %v burst %d, want 25/s burst 1", a.Limit(), a.Burst())
	}
	one := rate.NewLimiter(5, 1)
	tr = &Transport{PathLimit: 25, Limiter: one}
	if tr.limiter("a") != one || tr.limiter("b") != one {
		t.Error("Limiter does not override PathLimit")
	}
	if (&Transport{}).limiter("a") != nil {
		t.Error("no limit configured, yet a limiter")
	}
}

package simfault

import (
	"net/http"
	"testing"
)

func TestZeroInjectorInjectsNothing(t *testing.T) {
	var in Injector
	if a := in.Before("x"); a != (Arrival{}) {
		t.Errorf("Before = %+v, want nothing", a)
	}
	if o := in.AfterApply("x", true); o != Answer {
		t.Errorf("AfterApply = %v, want Answer", o)
	}
}

func TestBeforeStatusAndRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      Faults
		status int
		retry  string
	}{
		{"503", Faults{Status503Rate: 1}, http.StatusServiceUnavailable, "1"},
		{"429", Faults{Status429Rate: 1}, http.StatusTooManyRequests, "0"},
	} {
		var in Injector
		in.Set(tc.f)
		a := in.Before("x")
		if a.Status != tc.status || a.RetryAfter != tc.retry {
			t.Errorf("%s: Before = %+v, want %d with Retry-After %q", tc.name, a, tc.status, tc.retry)
		}
	}
}

func TestRateLimitRefusesWithRetryAfterOne(t *testing.T) {
	var in Injector
	in.Set(Faults{RateLimit: 1})
	if a := in.Before("x"); a.Status != 0 {
		t.Fatalf("first call refused: %+v", a)
	}
	if a := in.Before("x"); a.Status != http.StatusTooManyRequests || a.RetryAfter != "1" {
		t.Errorf("second call = %+v, want 429 with Retry-After 1", a)
	}
}

func TestCallsFilter(t *testing.T) {
	var in Injector
	in.Set(Faults{Status503Rate: 1, LoseAnswerRate: 1, Calls: []string{"create"}})
	if a := in.Before("list"); a != (Arrival{}) {
		t.Errorf("Before(list) = %+v, want nothing", a)
	}
	if o := in.AfterApply("other", true); o != Answer {
		t.Errorf("AfterApply(other) = %v, want Answer", o)
	}
	if o := in.AfterApply("create", true); o != Lose {
		t.Errorf("AfterApply(create) = %v, want Lose", o)
	}
	if o := in.AfterApply("create", false); o != Answer {
		t.Errorf("a read was lost by LoseAnswerRate: %v", o)
	}
}

func TestFailNextCountsReadsAndIgnoresCalls(t *testing.T) {
	var in Injector
	in.FailNext("list", 2)
	in.Set(Faults{Calls: []string{"create"}}) // keeps pending counts
	for i, want := range []Outcome{Lose, Lose, Answer} {
		if o := in.AfterApply("list", false); o != want {
			t.Errorf("call %d: %v, want %v", i, o, want)
		}
	}
}

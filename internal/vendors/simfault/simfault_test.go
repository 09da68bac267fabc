package simfault

import (
	"context"
	"net/http"
	"testing"
	"time"
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

func TestLateLandsWritesOnly(t *testing.T) {
	var in Injector
	in.LandLate("create", time.Second, 1)
	if _, late := in.Late("create", false); late {
		t.Error("a read is late")
	}
	if d, late := in.Late("create", true); !late || d != time.Second {
		t.Errorf("first create: late %v after %v, want late after 1s", late, d)
	}
	if _, late := in.Late("create", true); late {
		t.Error("LandLate(…, 1) made two writes late")
	}
	in.Set(Faults{LateRate: 1, LateDelay: time.Minute, Calls: []string{"notice"}})
	if _, late := in.Late("create", true); late {
		t.Error("Calls does not filter LateRate")
	}
	if d, late := in.Late("notice", true); !late || d != time.Minute {
		t.Errorf("notice: late %v after %v, want late after 1m", late, d)
	}
}

func TestLandingsWaitForEveryLateWrite(t *testing.T) {
	var l Landings
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		t.Fatalf("Wait with nothing pending: %v", err)
	}
	release := make(chan struct{})
	ran := make(chan int, 2)
	for i := range 2 {
		l.At(time.Now(), func() { <-release; ran <- i })
	}
	if pending, landed := l.Count(); pending != 2 || landed != 0 {
		t.Errorf("Count = %d pending, %d landed; want 2, 0", pending, landed)
	}
	close(release)
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 {
		t.Errorf("Wait returned with %d of 2 writes applied", len(ran))
	}
	if pending, landed := l.Count(); pending != 0 || landed != 2 {
		t.Errorf("Count = %d pending, %d landed; want 0, 2", pending, landed)
	}
}

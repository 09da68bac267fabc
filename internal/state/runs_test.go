package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRuns(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var want []Run
	for i, outcome := range []Outcome{RunOK, RunFailed, RunSkipped, RunInterrupted} {
		id, err := s.BeginRun(ctx, ts(i), "schedule")
		if err != nil {
			t.Fatal(err)
		}
		r := Run{ID: id, Started: ts(i), Ended: ts(i).Add(time.Minute), Trigger: "schedule", Outcome: outcome,
			Created: i, Added: 2 * i, Removed: 6 * i, Posted: 3 * i, Drift: 4 * i, Errors: 5 * i, Message: "运行 " + string(outcome)}
		if err := s.EndRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append([]Run{r}, want...)
	}
	running, err := s.BeginRun(ctx, time.Time{}, "apply")
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.Runs(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != running || got[0].Outcome != "" || !got[0].Ended.IsZero() || got[0].Started.IsZero() {
		t.Fatalf("newest run = %+v, want the one in progress", got[0])
	}
	if d := cmp.Diff(want[:2], got[1:]); d != "" {
		t.Errorf("Runs(3) (-want +got):\n%s", d)
	}
	all, err := s.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, all[1:]); d != "" {
		t.Errorf("Runs(0) (-want +got):\n%s", d)
	}
	for _, r := range all {
		if r.Started.Location() != time.UTC {
			t.Errorf("run %d: Started in %v", r.ID, r.Started.Location())
		}
	}

	if err := s.EndRun(ctx, Run{ID: running, Outcome: "great"}); err == nil {
		t.Error("EndRun accepted an unknown outcome")
	}
	if err := s.EndRun(ctx, Run{ID: 999, Outcome: RunOK}); !errors.Is(err, ErrNotFound) {
		t.Errorf("EndRun of an unknown run = %v, want ErrNotFound", err)
	}
}

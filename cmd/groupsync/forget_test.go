package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"groupsync/internal/state"
)

// TestCLIForgetRefusesASettlingCreate: a key whose create has an unknown
// outcome cannot be forgotten while the create may still land (--settle):
// the next apply would create the group again. Once settled, or with
// --settle 0, it can.
func TestCLIForgetRefusesASettlingCreate(t *testing.T) {
	c := newCLI(t)
	st, err := state.Open(c.state)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Sent a minute ago, answer lost.
	if _, err := st.BeginIntent(ctx, state.Intent{Key: "newg", Provider: "coremail", Kind: state.IntentCreate, Name: "New group",
		StartedAt: time.Now().Add(-time.Minute), Member: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	forget := func(args ...string) result {
		return c.run(append([]string{"state", "forget", "newg", "--yes", "--state", c.state}, args...)...)
	}
	r := forget().wantCode(t, 1)
	for _, want := range []string{"the create of newg last sent at", "is settling until", "could create it twice; nothing was changed", "--settle 0 forgets at once"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("forget during the settle lacks %q:\n%s", want, r.stderr)
		}
	}
	st, err = state.Open(c.state)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := st.OpenIntents(ctx)
	st.Close()
	if len(in) != 1 {
		t.Fatalf("open intents %v after the refusal, want the create kept", in)
	}
	// Settled by a shorter --settle (a minute has passed): forgotten.
	r = forget("--settle", "30s").wantCode(t, 0)
	if !strings.Contains(r.stdout, "Forgot newg.") {
		t.Errorf("forget after the settle:\n%s", r.stdout)
	}
}

package state

import (
	"context"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCreateIntentLifecycle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	in := Intent{Key: "release-crew", Provider: "kingdee", Kind: IntentCreate, Name: "发布讨论组", StartedAt: ts(1)}
	id, err := s.BeginIntent(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	in.ID = id
	open, err := s.OpenIntents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Intent{in}, open); d != "" {
		t.Errorf("OpenIntents (-want +got):\n%s", d)
	}
	if open[0].StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt in %v, want UTC", open[0].StartedAt.Location())
	}
	// A second create of the same key is refused while the first is open.
	if _, err := s.BeginIntent(ctx, in); !errors.Is(err, ErrIntentOpen) {
		t.Errorf("second create intent = %v, want ErrIntentOpen", err)
	}
	if err := s.CompleteCreate(ctx, id, Binding{GroupID: "5bee7172e4b0f6bbaa32b4bf", BoundAt: ts(2)}); err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.Binding(ctx, "release-crew")
	// The binding keeps the name the create sent: a later plan spots a key
	// renamed without `previously:` by it.
	want := Binding{Key: "release-crew", Provider: "kingdee", GroupID: "5bee7172e4b0f6bbaa32b4bf", Origin: OriginCreated, BoundAt: ts(2), Name: in.Name}
	if err != nil || !ok {
		t.Fatalf("Binding = %v, %v", ok, err)
	}
	if d := cmp.Diff(want, b); d != "" {
		t.Errorf("binding after CompleteCreate (-want +got):\n%s", d)
	}
	if open, _ := s.OpenIntents(ctx); len(open) != 0 {
		t.Errorf("intent still open: %+v", open)
	}
	// Now bound: a create intent is refused; completing again finds nothing.
	if _, err := s.BeginIntent(ctx, Intent{Key: "release-crew", Provider: "kingdee", Kind: IntentCreate}); !errors.Is(err, ErrAlreadyBound) {
		t.Errorf("create intent of a bound key = %v, want ErrAlreadyBound", err)
	}
	if err := s.CompleteCreate(ctx, id, want); !errors.Is(err, ErrNotFound) {
		t.Errorf("completing a closed intent = %v, want ErrNotFound", err)
	}
}

func TestPostIntentLifecycle(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	notice := Intent{Key: "release-crew", Provider: "kingdee", Kind: IntentNotice, Name: "发布窗口", Hash: "sha256:aa", GroupID: "g1"}
	banner := Intent{Key: "release-crew", Provider: "kingdee", Kind: IntentBanner, Name: "Runbook", Hash: "sha256:bb", GroupID: "g1"}
	nid, err := s.BeginIntent(ctx, notice)
	if err != nil {
		t.Fatal(err)
	}
	bid, err := s.BeginIntent(ctx, banner)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompletePost(ctx, nid, Post{VendorID: "notice-9", PostedAt: ts(1)}); err != nil {
		t.Fatal(err)
	}
	full := Post{Key: "release-crew", Kind: PostBanner, Hash: "sha256:bb", VendorID: "banner-3", PostedAt: ts(2)}
	if err := s.CompletePost(ctx, bid, full); err != nil {
		t.Fatal(err)
	}
	got, err := s.Posts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Post{"release-crew": {
		{Key: "release-crew", Kind: PostNotice, Hash: "sha256:aa", VendorID: "notice-9", PostedAt: ts(1)},
		full,
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Posts (-want +got):\n%s", d)
	}
	if open, _ := s.OpenIntents(ctx); len(open) != 0 {
		t.Errorf("intents still open: %+v", open)
	}
}

func TestIntentRefusals(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	createID, _ := s.BeginIntent(ctx, Intent{Key: "a", Provider: "p", Kind: IntentCreate})
	postID, _ := s.BeginIntent(ctx, Intent{Key: "a", Provider: "p", Kind: IntentNotice, Hash: "h", GroupID: "g"})
	tests := []struct {
		name string
		do   func() error
	}{
		{"intent without key", func() error {
			_, err := s.BeginIntent(ctx, Intent{Provider: "p", Kind: IntentCreate})
			return err
		}},
		{"intent of unknown kind", func() error {
			_, err := s.BeginIntent(ctx, Intent{Key: "b", Provider: "p", Kind: "delete"})
			return err
		}},
		{"post intent without hash", func() error {
			_, err := s.BeginIntent(ctx, Intent{Key: "b", Provider: "p", Kind: IntentBanner, GroupID: "g"})
			return err
		}},
		{"same post twice", func() error {
			_, err := s.BeginIntent(ctx, Intent{Key: "a", Provider: "p", Kind: IntentNotice, Hash: "h", GroupID: "g"})
			return err
		}},
		{"complete a post as a create", func() error { return s.CompleteCreate(ctx, postID, Binding{GroupID: "g"}) }},
		{"complete a create as a post", func() error { return s.CompletePost(ctx, createID, Post{VendorID: "v"}) }},
		{"complete a create for another key", func() error {
			return s.CompleteCreate(ctx, createID, Binding{Key: "b", GroupID: "g"})
		}},
		{"complete a post of other content", func() error { return s.CompletePost(ctx, postID, Post{Hash: "other"}) }},
		{"abandon an unknown intent", func() error { return s.AbandonIntent(ctx, 999) }},
		{"note an attempt of an unknown intent", func() error { return s.NoteAttempt(ctx, 999, ts(1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serial := mustSerial(t, s)
			if err := tt.do(); err == nil {
				t.Fatal("succeeded")
			}
			if mustSerial(t, s) != serial {
				t.Error("a refused call changed the serial")
			}
			if open, _ := s.OpenIntents(ctx); len(open) != 2 {
				t.Errorf("a refused call changed the open intents: %+v", open)
			}
		})
	}
}

func TestAbandonIntent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var ids []int64
	for _, key := range []string{"a", "b", "c"} {
		id, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "p", Kind: IntentCreate})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := s.AbandonIntent(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenIntents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].ID != ids[0] || open[1].ID != ids[2] {
		t.Errorf("open intents after abandoning %d: %+v", ids[1], open)
	}
	// Abandoned: the create may be tried again.
	if _, err := s.BeginIntent(ctx, Intent{Key: "b", Provider: "p", Kind: IntentCreate}); err != nil {
		t.Errorf("create intent after abandon: %v", err)
	}
}

func TestNoteAttemptMovesTheLastAttempt(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	id, err := s.BeginIntent(ctx, Intent{Key: "a", Provider: "p", Kind: IntentCreate, StartedAt: ts(1)})
	if err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenIntents(ctx)
	if err != nil || len(open) != 1 || !open[0].AttemptedAt.IsZero() || !open[0].LastAttempt().Equal(ts(1)) {
		t.Fatalf("before: %+v, %v; want the last attempt at the start", open, err)
	}
	serial := mustSerial(t, s)
	if err := s.NoteAttempt(ctx, id, ts(3)); err != nil {
		t.Fatal(err)
	}
	if mustSerial(t, s) == serial {
		t.Error("noting an attempt did not change the serial")
	}
	open, err = s.OpenIntents(ctx)
	if err != nil || len(open) != 1 || !open[0].AttemptedAt.Equal(ts(3)) || !open[0].LastAttempt().Equal(ts(3)) {
		t.Errorf("after: %+v, %v; want the last attempt at %v", open, err, ts(3))
	}
}

func TestSerialChangesOnStateWritesOnly(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var createID, postID, runID int64
	tests := []struct {
		name    string
		do      func() error
		changes bool
	}{
		{"Bind", func() error {
			return s.Bind(ctx, Binding{Key: "a", Provider: "p", GroupID: "g", Origin: OriginAdopted})
		}, true},
		{"SaveReads", func() error { return s.SaveReads(ctx, []Read{testRead(1, 3)}) }, false},
		{"BeginRun", func() (err error) { runID, err = s.BeginRun(ctx, ts(1), "schedule"); return err }, false},
		{"EndRun", func() error { return s.EndRun(ctx, Run{ID: runID, Outcome: RunOK}) }, false},
		{"Lock and unlock", func() error {
			unlock, err := s.Lock(ctx, "groupsync apply", 0)
			if err != nil {
				return err
			}
			return unlock()
		}, false},
		{"BeginIntent create", func() (err error) {
			createID, err = s.BeginIntent(ctx, Intent{Key: "b", Provider: "p", Kind: IntentCreate})
			return err
		}, true},
		{"CompleteCreate", func() error { return s.CompleteCreate(ctx, createID, Binding{GroupID: "g2"}) }, true},
		{"BeginIntent post", func() (err error) {
			postID, err = s.BeginIntent(ctx, Intent{Key: "b", Provider: "p", Kind: IntentNotice, Hash: "h", GroupID: "g2"})
			return err
		}, true},
		{"CompletePost", func() error { return s.CompletePost(ctx, postID, Post{VendorID: "n1"}) }, true},
		{"AbandonIntent", func() error {
			id, err := s.BeginIntent(ctx, Intent{Key: "c", Provider: "p", Kind: IntentCreate})
			if err != nil {
				return err
			}
			before := mustSerial(t, s)
			if err := s.AbandonIntent(ctx, id); err != nil {
				return err
			}
			if mustSerial(t, s) == before {
				return errors.New("AbandonIntent alone did not change the serial")
			}
			return nil
		}, true},
		{"Rename", func() error { return s.Rename(ctx, "b", "b2") }, true},
		{"Forget", func() error { return s.Forget(ctx, "b2") }, true},
		{"reads of every kind", func() error {
			if _, err := s.Bindings(ctx); err != nil {
				return err
			}
			if _, err := s.Reads(ctx); err != nil {
				return err
			}
			if _, err := s.Posts(ctx); err != nil {
				return err
			}
			if _, err := s.OpenIntents(ctx); err != nil {
				return err
			}
			_, err := s.Runs(ctx, 0)
			return err
		}, false},
	}
	for _, tt := range tests {
		before := mustSerial(t, s)
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if changed := mustSerial(t, s) != before; changed != tt.changes {
			t.Errorf("%s: serial changed = %v, want %v", tt.name, changed, tt.changes)
		}
	}
}

// TestIntentSurvivesKill records an intent in a real child process, kills
// it with SIGKILL before it completes, and finds the intent open.
func TestIntentSurvivesKill(t *testing.T) {
	path := newLocation(t)
	c := startChild(t, "begin-intent", path)
	id, err := strconv.ParseInt(c.expect(t, "intent"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", c.cmd.ProcessState)
	}

	s := openStore(t, path)
	open, err := s.OpenIntents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != id || open[0].Key != "crashy" || open[0].Name != "崩溃组" || open[0].Kind != IntentCreate {
		t.Fatalf("open intents after the kill: %+v, want intent %d for crashy", open, id)
	}
	// It blocks a second create of the key.
	if _, err := s.BeginIntent(context.Background(), open[0]); !errors.Is(err, ErrIntentOpen) {
		t.Errorf("create after the kill = %v, want ErrIntentOpen", err)
	}
}

package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBindRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	want := map[string]Binding{
		"release-crew":  {Key: "release-crew", Provider: "kingdee", GroupID: "5bee7172e4b0f6bbaa32b4bf", Origin: OriginCreated, BoundAt: ts(1)},
		"legacy-room":   {Key: "legacy-room", Provider: "kingdee", GroupID: "5bee7172e4b0f6bbaa32b4c0", Origin: OriginAdopted, BoundAt: ts(2)},
		"ops-broadcast": {Key: "ops-broadcast", Provider: "coremail", GroupID: "10664", Origin: OriginImported, BoundAt: ts(3)},
		"lk-recovered":  {Key: "lk-recovered", Provider: "coremail", GroupID: "10665", Origin: OriginRecovered, BoundAt: ts(4)},
	}
	for _, b := range want {
		if err := s.Bind(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Bindings (-want +got):\n%s", d)
	}
	for _, b := range got {
		if b.BoundAt.Location() != time.UTC {
			t.Errorf("%s: BoundAt in %v, want UTC", b.Key, b.BoundAt.Location())
		}
	}

	// Upsert replaces.
	moved := want["legacy-room"]
	moved.GroupID, moved.Origin = "5bee7172e4b0f6bbaa32b4ff", OriginImported
	if err := s.Bind(ctx, moved); err != nil {
		t.Fatal(err)
	}
	b, ok, err := s.Binding(ctx, "legacy-room")
	if err != nil || !ok {
		t.Fatalf("Binding = %v, %v", ok, err)
	}
	if d := cmp.Diff(moved, b); d != "" {
		t.Errorf("Binding after upsert (-want +got):\n%s", d)
	}
	if _, ok, err := s.Binding(ctx, "nobody"); ok || err != nil {
		t.Errorf("Binding(nobody) = %v, %v; want false, nil", ok, err)
	}
}

func TestBindDefaultsAndRefusals(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	before := time.Now()
	if err := s.Bind(ctx, Binding{Key: "k", Provider: "p", GroupID: "g", Origin: OriginCreated}); err != nil {
		t.Fatal(err)
	}
	b, _, _ := s.Binding(ctx, "k")
	if b.BoundAt.Before(before.Add(-time.Second)) || b.BoundAt.After(time.Now()) {
		t.Errorf("zero BoundAt stored as %v, want now", b.BoundAt)
	}
	for _, bad := range []Binding{
		{Provider: "p", GroupID: "g", Origin: OriginCreated},
		{Key: "k", GroupID: "g", Origin: OriginCreated},
		{Key: "k", Provider: "p", Origin: OriginCreated},
		{Key: "k", Provider: "p", GroupID: "g"},
		{Key: "k", Provider: "p", GroupID: "g", Origin: "stolen"},
	} {
		if err := s.Bind(ctx, bad); err == nil {
			t.Errorf("Bind(%+v) succeeded", bad)
		}
	}
}

// seedKey gives key a binding, a read, a post and, if open, an open post intent.
func seedKey(t *testing.T, s *Store, key, groupID string, open bool) {
	t.Helper()
	ctx := context.Background()
	if err := s.Bind(ctx, Binding{Key: key, Provider: "kingdee", GroupID: groupID, Origin: OriginCreated, BoundAt: ts(1)}); err != nil {
		t.Fatal(err)
	}
	r := testRead(0, 3)
	r.Key, r.GroupID = key, groupID
	if err := s.SaveReads(ctx, []Read{r}); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "kingdee", Kind: IntentNotice, Name: "n", Hash: "h1", GroupID: groupID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompletePost(ctx, id, Post{VendorID: "notice-1", PostedAt: ts(2)}); err != nil {
		t.Fatal(err)
	}
	if open {
		if _, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "kingdee", Kind: IntentBanner, Hash: "h2", GroupID: groupID}); err != nil {
			t.Fatal(err)
		}
	}
}

// holdings counts what the state holds about key: binding, read, posts, open intents.
func holdings(t *testing.T, s *Store, key string) [4]int {
	t.Helper()
	ctx := context.Background()
	var h [4]int
	for i, table := range keyedTables {
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE key = ?", key).Scan(&h[i]); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestForget(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	seedKey(t, s, "gone", "g1", true)
	seedKey(t, s, "kept", "g2", true)
	if err := s.Forget(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if h := holdings(t, s, "gone"); h != [4]int{} {
		t.Errorf("after Forget the state still holds %v about the key", h)
	}
	if h := holdings(t, s, "kept"); h != [4]int{1, 1, 1, 1} {
		t.Errorf("Forget touched another key: %v", h)
	}
	if err := s.Forget(ctx, "gone"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Forget = %v, want ErrNotFound", err)
	}
	// An intent alone is forgotten too (state forget clears a blocked create).
	if _, err := s.BeginIntent(ctx, Intent{Key: "blocked", Provider: "kingdee", Kind: IntentCreate}); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, "blocked"); err != nil {
		t.Fatal(err)
	}
	if in, _ := s.OpenIntents(ctx); len(in) != 1 || in[0].Key != "kept" {
		t.Errorf("open intents after forgetting blocked = %+v", in)
	}
}

func TestRename(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, s *Store)
		wantErr error
		wantNew [4]int
	}{
		{
			name:    "moves everything",
			setup:   func(t *testing.T, s *Store) { seedKey(t, s, "old", "g1", true) },
			wantNew: [4]int{1, 1, 1, 1},
		},
		{
			name: "moves an intent alone",
			setup: func(t *testing.T, s *Store) {
				s.BeginIntent(context.Background(), Intent{Key: "old", Provider: "kingdee", Kind: IntentCreate})
			},
			wantNew: [4]int{0, 0, 0, 1},
		},
		{
			name: "drops a stale read of the new key",
			setup: func(t *testing.T, s *Store) {
				seedKey(t, s, "old", "g1", false)
				r := testRead(1, 2)
				r.Key = "new"
				s.SaveReads(context.Background(), []Read{r})
			},
			wantNew: [4]int{1, 1, 1, 0},
		},
		{
			name: "refuses a bound new key",
			setup: func(t *testing.T, s *Store) {
				seedKey(t, s, "old", "g1", false)
				seedKey(t, s, "new", "g2", false)
			},
			wantErr: ErrAlreadyBound,
			wantNew: [4]int{1, 1, 1, 0},
		},
		{
			name: "refuses a new key with an open intent",
			setup: func(t *testing.T, s *Store) {
				seedKey(t, s, "old", "g1", false)
				s.BeginIntent(context.Background(), Intent{Key: "new", Provider: "kingdee", Kind: IntentCreate})
			},
			wantErr: ErrIntentOpen,
			wantNew: [4]int{0, 0, 0, 1},
		},
		{
			name:    "refuses an unknown old key",
			setup:   func(t *testing.T, s *Store) {},
			wantErr: ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			tt.setup(t, s)
			oldBefore := holdings(t, s, "old")
			serial := mustSerial(t, s)
			err := s.Rename(context.Background(), "old", "new")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Rename = %v, want %v", err, tt.wantErr)
			}
			if got := holdings(t, s, "new"); got != tt.wantNew {
				t.Errorf("new key holds %v, want %v", got, tt.wantNew)
			}
			if tt.wantErr != nil {
				if got := holdings(t, s, "old"); got != oldBefore {
					t.Errorf("a refused rename changed the old key: %v -> %v", oldBefore, got)
				}
				if mustSerial(t, s) != serial {
					t.Error("a refused rename changed the serial")
				}
				return
			}
			if got := holdings(t, s, "old"); got != [4]int{} {
				t.Errorf("old key still holds %v", got)
			}
			if mustSerial(t, s) == serial {
				t.Error("Rename did not change the serial")
			}
		})
	}
}

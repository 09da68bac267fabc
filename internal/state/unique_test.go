package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestMigrationRefusesSharedGroups: a file of any earlier version in which
// two keys share a group is refused by the unique index's migration, naming
// the keys, and left at its version; once a key is forgotten it migrates.
func TestMigrationRefusesSharedGroups(t *testing.T) {
	for from := 1; from < 7; from++ {
		t.Run(fmt.Sprintf("from v%d", from), func(t *testing.T) {
			ctx := context.Background()
			path, db, d := fileAt(t, from)
			for _, key := range []string{"beta", "alpha"} {
				if _, err := db.ExecContext(ctx, `INSERT INTO bindings (key, provider, group_id, origin, bound_at) VALUES (?, 'kingdee', '5bee7172e4b0f6bbaa32b4bf', 'imported', '2026-01-02T03:04:05.000000000Z')`, key); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(path)
			var dup *DuplicateBindingsError
			if !errors.As(err, &dup) || !strings.Contains(err.Error(), "kingdee group 5bee7172e4b0f6bbaa32b4bf is bound to keys alpha, beta") {
				t.Fatalf("open: %v, want the shared group refused with its keys", err)
			}
			if v, _, err := readVersion(ctx, db, d); err != nil || v != 6 && v != from {
				t.Fatalf("version %d (%v) after the refusal, want the migrations before v7 only", v, err)
			}
			if _, err := db.ExecContext(ctx, "DELETE FROM bindings WHERE key = 'beta'"); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, path)
			if b, _ := s.Bindings(ctx); len(b) != 1 {
				t.Errorf("bindings %v, want alpha alone", b)
			}
		})
	}
}

// TestBindRefusesAGroupAnotherKeyHolds: the state refuses a second key on a
// group, naming the key that holds it, and leaves the serial as it was.
func TestBindRefusesAGroupAnotherKeyHolds(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if err := s.Bind(ctx, Binding{Key: "a", Provider: "kingdee", GroupID: "g1", Origin: OriginImported}); err != nil {
		t.Fatal(err)
	}
	serial := mustSerial(t, s)
	err := s.Bind(ctx, Binding{Key: "b", Provider: "kingdee", GroupID: "g1", Origin: OriginImported})
	var held *GroupBoundError
	if !errors.As(err, &held) || held.Key != "a" {
		t.Fatalf("bind b: %v, want the group held by a", err)
	}
	if got := mustSerial(t, s); got != serial {
		t.Errorf("serial %d, want %d", got, serial)
	}
	// The same group id on another provider is another group.
	if err := s.Bind(ctx, Binding{Key: "b", Provider: "other", GroupID: "g1", Origin: OriginImported}); err != nil {
		t.Fatal(err)
	}
}

// TestResolvePosts: one open post is settled without a hash; several need
// one; a verdict of posted records the post, not-posted drops the intent.
func TestResolvePosts(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	for _, h := range []string{"h1", "h2"} {
		if _, err := s.BeginIntent(ctx, Intent{Key: "k", Provider: "kingdee", Kind: IntentNotice, Name: h, Hash: h, GroupID: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	var many *AmbiguousPostsError
	if _, err := s.ResolvePosts(ctx, "k", "", true); !errors.As(err, &many) || len(many.Open) != 2 {
		t.Fatalf("resolve without a hash: %v, want both listed", err)
	}
	if n, err := s.ResolvePosts(ctx, "k", "h1", true); err != nil || n != 1 {
		t.Fatalf("resolve h1 posted: %d, %v", n, err)
	}
	if n, err := s.ResolvePosts(ctx, "k", "", false); err != nil || n != 1 {
		t.Fatalf("resolve the last not posted: %d, %v", n, err)
	}
	posts, _ := s.Posts(ctx)
	if in, _ := s.OpenIntents(ctx); len(in) != 0 || len(posts["k"]) != 1 || posts["k"][0].Hash != "h1" {
		t.Errorf("intents %v, posts %v; want none open and h1 posted", in, posts)
	}
}

// fileAt makes a state at schema version v, open without migrating
// further.
func fileAt(t *testing.T, v int) (string, *sql.DB, dialect) {
	t.Helper()
	path := newLocation(t)
	db, d := openRaw(t, path)
	t.Cleanup(func() { db.Close() })
	if err := migrateTo(context.Background(), db, d, path, v); err != nil {
		t.Fatal(err)
	}
	return path, db, d
}

package state

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// snapshot is everything a copy must carry, as the domain methods see it.
type snapshot struct {
	Bindings map[string]Binding
	Reads    map[string]Read
	Posts    map[string][]Post
	Intents  []Intent
	Runs     []Run
	Serial   int64
	Lineage  string
}

func takeSnapshot(t *testing.T, s *Store) snapshot {
	t.Helper()
	ctx := context.Background()
	var sn snapshot
	var err error
	if sn.Bindings, err = s.Bindings(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Reads, err = s.Reads(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Posts, err = s.Posts(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Intents, err = s.OpenIntents(ctx); err != nil {
		t.Fatal(err)
	}
	if sn.Runs, err = s.Runs(ctx, 0); err != nil {
		t.Fatal(err)
	}
	sn.Serial = mustSerial(t, s)
	if sn.Lineage, err = s.Lineage(ctx); err != nil {
		t.Fatal(err)
	}
	return sn
}

// TestCopyRoundTrip copies a state from the backend under test to a file
// and back to a new state of the backend: every copy holds the same, and
// journals on from where the source was.
func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := newStore(t)
	if err := src.Bind(ctx, Binding{Key: "ops", Provider: "kingdee", GroupID: "5bee7172e4b0f6bbaa32b4bf", Origin: OriginAdopted, BoundAt: ts(1)}); err != nil {
		t.Fatal(err)
	}
	var reads []Read
	for i := range 300 {
		reads = append(reads, testRead(i, 5))
	}
	if err := src.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	id, err := src.BeginIntent(ctx, Intent{Key: "ops", Provider: "kingdee", Kind: IntentNotice, Name: "值班", Hash: "h1", GroupID: "5bee7172e4b0f6bbaa32b4bf", StartedAt: ts(2)})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.CompletePost(ctx, id, Post{VendorID: "n1", PostedAt: ts(3)}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.BeginIntent(ctx, Intent{Key: "new", Provider: "coremail", Kind: IntentCreate, Name: "新组", Type: "topic", Member: "a@example.com", StartedAt: ts(4)}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.BeginRun(ctx, ts(5), "apply"); err != nil {
		t.Fatal(err)
	}
	want := takeSnapshot(t, src)

	file := openStore(t, filepath.Join(t.TempDir(), "copy.db"))
	if c, err := src.CopyTo(ctx, file); err != nil || c.Bindings != 1 || c.Reads != 300 || c.Intents != 1 {
		t.Fatalf("CopyTo file = %+v, %v", c, err)
	}
	if diff := cmp.Diff(want, takeSnapshot(t, file)); diff != "" {
		t.Errorf("the file copy differs (-source +copy):\n%s", diff)
	}
	back := newStore(t)
	if _, err := file.CopyTo(ctx, back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, takeSnapshot(t, back)); diff != "" {
		t.Errorf("the copy back differs (-source +copy):\n%s", diff)
	}
	// Ids go on after the copied ones.
	next, err := back.BeginIntent(ctx, Intent{Key: "later", Provider: "coremail", Kind: IntentCreate, Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if next <= want.Intents[0].ID {
		t.Errorf("an intent after the copy got id %d, not after the copied %d", next, want.Intents[0].ID)
	}
	run, err := back.BeginRun(ctx, ts(6), "apply")
	if err != nil || run <= want.Runs[0].ID {
		t.Errorf("a run after the copy got id %d, %v; want after %d", run, err, want.Runs[0].ID)
	}
	// A copy replaces what the target held.
	if _, err := src.CopyTo(ctx, back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, takeSnapshot(t, back)); diff != "" {
		t.Errorf("a copy over a state differs (-source +copy):\n%s", diff)
	}
}

func TestCountsOfANewState(t *testing.T) {
	s := newStore(t)
	c, err := s.Counts(context.Background())
	if err != nil || !c.Empty() || !lineageRE.MatchString(c.Lineage) {
		t.Errorf("Counts of a new state = %+v, %v", c, err)
	}
}

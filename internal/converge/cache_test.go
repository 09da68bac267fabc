package converge_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"groupsync/internal/converge"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// The people of the cache tests' groups; the operator who created them is
// a member of each.
const (
	alice    = "5b503ee9e4b02abb5318b23e"
	bob      = "5b6cea82e4b05df05b3efc2b"
	operator = "5b90c663e4b0216ee04a768c"
)

// blockingClient holds the AddMembers call to one group until released.
type blockingClient struct {
	vendors.Client
	group   string        // the group id whose call is held
	started chan struct{} // closed when that call arrives
	release chan struct{} // the call goes on once closed
}

func (c *blockingClient) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	if groupID == c.group {
		close(c.started)
		<-c.release
	}
	return c.Client.AddMembers(ctx, groupID, operator, ids)
}

// members are the ids of the cached read of key (nil when none is cached).
func cachedMembers(t *testing.T, store *state.Store, key string) []string {
	t.Helper()
	r, ok, err := store.CachedRead(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return nil
	}
	var ids []string
	for _, m := range r.Group.Members {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestFlowCachesAsTheApplyGoes: the groups whose apply ended have their
// cached reads brought up to date while another group's call is still in
// flight, and that group's read says what was done only once it was.
func TestFlowCachesAsTheApplyGoes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// Enough groups ended for the writer to save a batch before the apply
	// ends, and one more, the last, whose call is held.
	n := converge.CacheMinBatch + 1
	keys := make([]string, n)
	groups := func(members ...string) string {
		var b strings.Builder
		for i := range keys {
			keys[i] = fmt.Sprintf("g%03d", i)
			fmt.Fprintf(&b, "\n  - {key: %s, provider: kingdee, name: G%03d, members: [\"%s\"]}", keys[i], i, strings.Join(members, `", "`))
		}
		return b.String() + "\n"
	}
	if rep := w.flow(converge.Limits{MaxNewGroups: n}).Run(ctx, w.load(t, groups(alice)), nil); rep.Err != nil || rep.Result.Created != n {
		t.Fatalf("creating the groups: %+v", rep)
	}
	last := keys[n-1]
	b, ok, err := w.store.Binding(ctx, last)
	if err != nil || !ok {
		t.Fatalf("binding of %s: %v %v", last, ok, err)
	}
	held := &blockingClient{Client: w.clients["kingdee"], group: b.GroupID, started: make(chan struct{}), release: make(chan struct{})}
	w.clients = map[string]vendors.Client{"kingdee": held}
	f := w.flow(converge.Limits{})
	saved := make(chan []string, n)
	converge.OnCached(f, func(keys []string) { saved <- keys })
	ended := make(chan converge.Report)
	go func() { ended <- f.Run(ctx, w.load(t, groups(alice, bob)), nil) }()

	select {
	case <-held.started:
	case rep := <-ended:
		t.Fatalf("the apply ended without a call to %s: %+v", last, rep)
	}
	// Were the reads cached only when the apply ends, this would wait until
	// go test's -timeout.
	for cached := map[string]bool{}; len(cached) < n-1; {
		for _, k := range <-saved {
			if k == last {
				t.Fatalf("%s was cached while its call is held", last)
			}
			cached[k] = true
		}
	}
	both, before := []string{alice, bob, operator}, []string{alice, operator}
	slices.Sort(both)
	slices.Sort(before)
	for _, key := range keys[:n-1] {
		if got := cachedMembers(t, w.store, key); !slices.Equal(got, both) {
			t.Errorf("while %s's call is in flight, %s's cached members are %v, want %v", last, key, got, both)
		}
	}
	if got := cachedMembers(t, w.store, last); !slices.Equal(got, before) {
		t.Errorf("while its call is in flight, %s's cached members are %v, want %v", last, got, before)
	}
	close(held.release)
	if rep := <-ended; rep.Err != nil || rep.Result.Added != n {
		t.Fatalf("report %+v, want %d members added", rep, n)
	}
	if got := cachedMembers(t, w.store, last); !slices.Equal(got, both) {
		t.Errorf("after the apply, %s's cached members are %v, want %v", last, got, both)
	}
}

// TestFlowCacheFailureIsOnlyLogged: an apply whose cached reads cannot be
// written applies and records its run as ok; the failure is a warning.
func TestFlowCacheFailureIsOnlyLogged(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(w.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `CREATE TRIGGER no_cache BEFORE INSERT ON reads BEGIN SELECT RAISE(ABORT, 'no room for the cache'); END`)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	f := w.flow(converge.Limits{MaxNewGroups: 2})
	f.Log = slog.New(slog.NewTextHandler(&logs, nil))
	rep := f.Run(ctx, w.m, nil)
	if rep.Err != nil || rep.Outcome != state.RunOK || rep.Result == nil || rep.Result.Created != 2 {
		t.Fatalf("report %+v, want two groups created and ok", rep)
	}
	if runs := w.runs(t); len(runs) != 1 || runs[0].Outcome != state.RunOK {
		t.Errorf("runs %+v, want one ok run", runs)
	}
	if b, _ := w.store.Bindings(ctx); len(b) != 2 {
		t.Errorf("bindings %v, want a and b", b)
	}
	if reads, _ := w.store.Reads(ctx); len(reads) != 0 {
		t.Errorf("cached reads %v, want none", reads)
	}
	for _, want := range []string{"level=WARN", "could not cache what the apply did", "groups=2", "no room for the cache"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs %q lack %q", logs.String(), want)
		}
	}
}

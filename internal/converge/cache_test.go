package converge_test

import (
	"bytes"
	"context"
	"database/sql"
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
	groups := func(members string) string {
		return `
  - {key: a, provider: kingdee, name: A, members: [` + members + `]}
  - {key: b, provider: kingdee, name: B, members: [` + members + `]}
  - {key: c, provider: kingdee, name: C, members: [` + members + `]}
`
	}
	if rep := w.flow(converge.Limits{MaxNewGroups: 3}).Run(ctx, w.load(t, groups(`"`+alice+`"`)), nil); rep.Err != nil || rep.Result.Created != 3 {
		t.Fatalf("creating the groups: %+v", rep)
	}
	b, ok, err := w.store.Binding(ctx, "c")
	if err != nil || !ok {
		t.Fatalf("binding of c: %v %v", ok, err)
	}
	held := &blockingClient{Client: w.clients["kingdee"], group: b.GroupID, started: make(chan struct{}), release: make(chan struct{})}
	w.clients = map[string]vendors.Client{"kingdee": held}
	f := w.flow(converge.Limits{})
	saved := make(chan []string, 10)
	converge.OnCached(f, func(keys []string) { saved <- keys })
	ended := make(chan converge.Report)
	go func() { ended <- f.Run(ctx, w.load(t, groups(`"`+alice+`", "`+bob+`"`)), nil) }()

	<-held.started
	// Were a and b cached only when the apply ends, this would wait until
	// go test's -timeout.
	for cached := map[string]bool{}; !cached["a"] || !cached["b"]; {
		for _, k := range <-saved {
			cached[k] = true
		}
	}
	both, before := []string{alice, bob, operator}, []string{alice, operator}
	slices.Sort(both)
	slices.Sort(before)
	for _, key := range []string{"a", "b"} {
		if got := cachedMembers(t, w.store, key); !slices.Equal(got, both) {
			t.Errorf("while c's call is in flight, %s's cached members are %v, want %v", key, got, both)
		}
	}
	if got := cachedMembers(t, w.store, "c"); !slices.Equal(got, before) {
		t.Errorf("while c's call is in flight, c's cached members are %v, want %v", got, before)
	}
	close(held.release)
	if rep := <-ended; rep.Err != nil || rep.Result.Added != 3 {
		t.Fatalf("report %+v, want 3 members added", rep)
	}
	if got := cachedMembers(t, w.store, "c"); !slices.Equal(got, both) {
		t.Errorf("after the apply, c's cached members are %v, want %v", got, both)
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

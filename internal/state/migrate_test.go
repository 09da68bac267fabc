package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func TestMigrationsAreNumberedInOrder(t *testing.T) {
	for i, m := range migrations {
		if m.version != i+1 {
			t.Errorf("migrations[%d] has version %d, want %d", i, m.version, i+1)
		}
		if m.name == "" || len(m.stmts) == 0 {
			t.Errorf("migration %d has no name or no statements", m.version)
		}
	}
}

// seeds writes rows a file of the given version may hold, to check they
// survive the migrations after it. Adding a schema version adds a seed.
var seeds = map[int][]string{
	1: {
		`INSERT INTO bindings VALUES ('seeded', 'kingdee', '5bee7172e4b0f6bbaa32b4bf', 'adopted', '2026-01-02T03:04:05.000000000Z')`,
		`INSERT INTO reads VALUES ('seeded', 'kingdee', '5bee7172e4b0f6bbaa32b4bf', '{"id":"5bee7172e4b0f6bbaa32b4bf","members":[{"id":"5b503ee9e4b02abb5318b23e"}]}', '2026-01-02T03:04:05.000000000Z')`,
		`INSERT INTO posts VALUES ('seeded', 'notice', 'h1', 'n1', '2026-01-02T03:04:05.000000000Z')`,
		`INSERT INTO intents (key, provider, kind, name, hash, group_id, started_at) VALUES ('other', 'kingdee', 'create', 'x', '', '', '2026-01-02T03:04:05.000000000Z')`,
		`INSERT INTO runs (started, trigger) VALUES ('2026-01-02T03:04:05.000000000Z', 'schedule')`,
		`UPDATE meta SET value = 7 WHERE name = 'serial'`,
		`INSERT INTO lock VALUES (1, 42, 'elsewhere', '', '', '', '2026-01-02T03:04:05.000000000Z', 'groupsync run', 'seededlock')`,
	},
	2: {
		`INSERT INTO intents (key, provider, kind, name, hash, group_id, started_at, group_type, member) VALUES ('lost', 'coremail', 'create', 'y', '', '', '2026-01-02T03:04:05.000000000Z', 'sysTopic', 'bob@example.com')`,
	},
	3: {
		`INSERT INTO bindings (key, provider, group_id, origin, bound_at, name) VALUES ('named', 'coremail', '10664', 'created', '2026-01-02T03:04:05.000000000Z', '运维广播')`,
	},
	5: {
		`INSERT INTO intents (key, provider, kind, name, hash, group_id, started_at, group_type, member, attempted_at) VALUES ('late', 'coremail', 'create', 'z', '', '', '2026-01-02T03:04:05.000000000Z', 'topic', 'eve@example.com', '2026-01-02T03:04:35.000000000Z')`,
	},
	8: {
		`INSERT INTO runs (started, ended, trigger, outcome, created, added, removed) VALUES ('2026-01-03T03:04:05.000000000Z', '2026-01-03T03:05:05.000000000Z', 'apply', 'ok', 1, 2, 3)`,
	},
}

// TestMigrateFromEveryVersion builds a file at each version from the empty
// file (0) to the current one, seeds it, and opens it: the result must be at
// the current version with every migration recorded and the seeds intact.
func TestMigrateFromEveryVersion(t *testing.T) {
	for from := 0; from <= currentVersion(); from++ {
		t.Run(fmt.Sprintf("from v%d", from), func(t *testing.T) {
			ctx := context.Background()
			path := newLocation(t)
			db, d := openRaw(t, path)
			// Each version's rows are written while the file is at that
			// version, as a file that lived through the versions would hold them.
			for v := 0; v <= from; v++ {
				if err := migrateTo(ctx, db, d, path, v); err != nil {
					t.Fatal(err)
				}
				for _, q := range seeds[v] {
					if _, err := db.ExecContext(ctx, q); err != nil {
						t.Fatalf("seed v%d: %v", v, err)
					}
				}
			}
			db.Close()

			s := openStore(t, path)
			rows, err := s.db.QueryContext(ctx, "SELECT version FROM schema_version ORDER BY version")
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for rows.Next() {
				var v int
				rows.Scan(&v)
				got = append(got, v)
			}
			if err := closeRows(rows); err != nil {
				t.Fatal(err)
			}
			if len(got) != currentVersion() || got[len(got)-1] != currentVersion() {
				t.Fatalf("schema_version holds %v, want 1..%d", got, currentVersion())
			}
			if from >= 1 {
				checkSeedV1(t, s, from)
			}
			checkLineage(t, s)
		})
	}
}

// openRaw opens the database at a state location without migrating it.
func openRaw(t *testing.T, loc string) (*sql.DB, dialect) {
	t.Helper()
	if IsPostgres(loc) {
		cfg, err := pgx.ParseConfig(loc)
		if err != nil {
			t.Fatal(err)
		}
		return sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)}), postgresDialect
	}
	if err := createPrivate(loc); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(loc))
	if err != nil {
		t.Fatal(err)
	}
	return db, sqliteDialect
}

func checkSeedV1(t *testing.T, s *Store, from int) {
	t.Helper()
	ctx := context.Background()
	// A run from before v8 removed none; one from v8 on keeps its count.
	runs, err := s.Runs(ctx, 0)
	wantRuns := map[bool]int{false: 1, true: 2}[from >= 8]
	if err != nil || len(runs) != wantRuns || runs[len(runs)-1].Removed != 0 || runs[len(runs)-1].Trigger != "schedule" ||
		(from >= 8 && (runs[0].Removed != 3 || runs[0].Added != 2)) {
		t.Errorf("runs after migrating from v%d = %+v, %v", from, runs, err)
	}
	b, ok, err := s.Binding(ctx, "seeded")
	if err != nil || !ok || b.GroupID != "5bee7172e4b0f6bbaa32b4bf" || b.Origin != OriginAdopted {
		t.Errorf("seeded binding = %+v, %v, %v", b, ok, err)
	}
	if from >= 3 {
		if b, ok, err := s.Binding(ctx, "named"); err != nil || !ok || b.Name != "运维广播" {
			t.Errorf("named binding = %+v, %v, %v", b, ok, err)
		}
	} else if b.Name != "" {
		t.Errorf("a binding from v%d has a name: %+v", from, b)
	}
	reads, err := s.Reads(ctx)
	if err != nil || len(reads["seeded"].Group.Members) != 1 {
		t.Errorf("seeded read = %+v, %v", reads["seeded"], err)
	}
	posts, err := s.Posts(ctx)
	if err != nil || len(posts["seeded"]) != 1 {
		t.Errorf("seeded posts = %+v, %v", posts, err)
	}
	intents, err := s.OpenIntents(ctx)
	want := []Intent{{Key: "other", Provider: "kingdee", Kind: IntentCreate, Name: "x"}}
	if from >= 2 {
		want = append(want, Intent{Key: "lost", Provider: "coremail", Kind: IntentCreate, Name: "y", Type: "sysTopic", Member: "bob@example.com"})
	}
	if from >= 5 {
		want = append(want, Intent{Key: "late", Provider: "coremail", Kind: IntentCreate, Name: "z", Type: "topic", Member: "eve@example.com",
			AttemptedAt: time.Date(2026, 1, 2, 3, 4, 35, 0, time.UTC)})
	}
	if err != nil || len(intents) != len(want) {
		t.Errorf("seeded intents = %+v, %v; want %d", intents, err, len(want))
	}
	for i := range min(len(intents), len(want)) {
		got := intents[i]
		got.ID, got.StartedAt = 0, time.Time{}
		if got != want[i] {
			t.Errorf("seeded intent %d = %+v, want %+v", i, got, want[i])
		}
	}
	// A lock held across the migration to heartbeats: its id is its token,
	// its start stands for its heartbeat (so it goes stale in time).
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if h, ok, err := s.LockHolder(ctx); err != nil || !ok || h.ID != "seededlock" || h.PID != 42 || !h.Heartbeat.Equal(since) {
		t.Errorf("seeded lock = %+v, %v, %v", h, ok, err)
	}
	if n, err := s.Serial(ctx); err != nil || n != 7 {
		t.Errorf("seeded serial = %d, %v; want 7", n, err)
	}
}

// checkLineage checks that a file has a lineage id, whatever version it
// was made at: a migrated file gets one as a new file does.
func checkLineage(t *testing.T, s *Store) {
	t.Helper()
	id, err := s.Lineage(context.Background())
	if err != nil || !lineageRE.MatchString(id) {
		t.Errorf("lineage = %q, %v; want 32 lower-case hex digits", id, err)
	}
}

var lineageRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestLineageIsMadeOnceAndDiffersBetweenFiles(t *testing.T) {
	ctx := context.Background()
	pathA := newLocation(t)
	a := openStore(t, pathA)
	b := openStore(t, newLocation(t))
	la, err := a.Lineage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Lineage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if la == lb {
		t.Errorf("two new state files share the lineage %s", la)
	}
	// Reopening (and writing) keeps it.
	if err := a.Bind(ctx, Binding{Key: "k", Provider: "p", GroupID: "g", Origin: OriginAdopted}); err != nil {
		t.Fatal(err)
	}
	a2 := openStore(t, pathA)
	if l, err := a2.Lineage(ctx); err != nil || l != la {
		t.Errorf("lineage after reopening = %q, %v; want %q", l, err, la)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	newer := currentVersion() + 1
	if _, err := s.db.Exec("INSERT INTO schema_version VALUES (?, '2030-01-01T00:00:00.000000000Z')", newer); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a newer schema")
	}
	want := fmt.Sprintf("state file %s has schema version %d, newer than this groupsync understands (%d): upgrade groupsync",
		RedactLocation(path), newer, currentVersion())
	if err.Error() != want {
		t.Errorf("error:\n got %q\nwant %q", err, want)
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Errorf("error %v is not ErrNewerSchema", err)
	}
	// The refusal wrote nothing: the old version is still recorded.
	var v int
	if err := s.db.QueryRow("SELECT max(version) FROM schema_version").Scan(&v); err != nil || v != newer {
		t.Errorf("version after refusal = %d, %v", v, err)
	}
}

func TestConcurrentOpenOfANewFile(t *testing.T) {
	path := newLocation(t)
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			s, err := Open(path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	s := openStore(t, path)
	var n int
	if err := s.db.QueryRow("SELECT count(*) FROM schema_version").Scan(&n); err != nil || n != currentVersion() {
		t.Errorf("schema_version has %d rows, %v; want %d", n, err, currentVersion())
	}
}

// TestMigrationCompactsCachedReads: a file from before v6 holding cached
// reads as JSON is converted, every read kept, and shrinks.
func TestMigrationCompactsCachedReads(t *testing.T) {
	sqliteOnly(t) // PostgreSQL's conversion is covered by TestMigrateFromEveryVersion
	ctx := context.Background()
	path := newLocation(t)
	db, d := openRaw(t, path)
	if err := migrateTo(ctx, db, d, path, compactVersion-1); err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := range n {
		r := testRead(i, 100)
		data, err := json.Marshal(r.Group)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO reads VALUES (?, ?, ?, ?, ?)", r.Key, r.Provider, r.GroupID, data, formatTime(ts(1))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileSize(t, path)
	s := openStore(t, path)
	reads, err := s.Reads(ctx)
	if err != nil || len(reads) != n {
		t.Fatalf("after the migration: %d reads, %v; want %d", len(reads), err, n)
	}
	want := testRead(7, 100)
	if diff := cmp.Diff(want.Group, reads[want.Key].Group); diff != "" {
		t.Errorf("a converted read differs (-want +got):\n%s", diff)
	}
	after, err := s.FileSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after*3 > before {
		t.Errorf("the file went from %d to %d bytes: not compacted", before, after)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

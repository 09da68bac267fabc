package state

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "groupsync.db")
	s := openStore(t, path)
	// A write makes SQLite create the -wal and -shm files.
	if err := s.Bind(context.Background(), Binding{Key: "k", Provider: "p", GroupID: "g", Origin: OriginCreated}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(name), mode)
		}
	}
}

func TestOpenSetsPragmas(t *testing.T) {
	sqliteOnly(t)
	s := newStore(t)
	ctx := context.Background()
	// Check every pooled connection, not just the first: hold several.
	var conns []*sql.Conn
	for range 3 {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": strconv.FormatInt(busyTimeout.Milliseconds(), 10),
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	tests := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "nope", "groupsync.db"), "no such file or directory"},
		{"not a database", notDB, "not a database"},
		{"another application's database", foreign, "not a groupsync state file"},
		{"question mark", filepath.Join(dir, "a?b.db"), "must not contain '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the path and say %q", err, tt.want)
			}
		})
	}
}

func TestIntegrityCheckReportsDamage(t *testing.T) {
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "groupsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var reads []Read
	for i := range 200 {
		reads = append(reads, testRead(i, 50))
	}
	if err := s.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
	// Damage the file behind SQLite's back: point the reads table's
	// primary key index at the bindings table's pages.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"PRAGMA writable_schema = ON",
		`UPDATE sqlite_schema SET rootpage = (SELECT rootpage FROM sqlite_schema WHERE name = 'bindings')
			WHERE name = 'sqlite_autoindex_reads_1'`,
		"PRAGMA writable_schema = RESET",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close()
	err = s.IntegrityCheck(ctx)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("IntegrityCheck after damage = %v, want an error naming the file", err)
	}
	t.Log(err)
}

func TestErrorsAreLowerCaseAndNameTheKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	errs := map[string]error{
		"bind":   s.Bind(ctx, Binding{Key: "release-crew", Provider: "kingdee", Origin: OriginCreated}),
		"forget": s.Forget(ctx, "release-crew"),
		"rename": s.Rename(ctx, "release-crew", "new-crew"),
		"reads":  s.SaveReads(ctx, []Read{{Key: "release-crew", Provider: "kingdee"}}),
	}
	if _, err := s.BeginIntent(ctx, Intent{Key: "release-crew", Provider: "kingdee", Kind: "delete"}); true {
		errs["intent"] = err
	}
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		msg := err.Error()
		if msg[0] < 'a' || msg[0] > 'z' || strings.HasSuffix(msg, ".") || !strings.Contains(msg, "release-crew") {
			t.Errorf("%s: error %q: want lower-case, no final period, naming the key", name, msg)
		}
	}
	if !errors.Is(errs["forget"], ErrNotFound) || !errors.Is(errs["rename"], ErrNotFound) {
		t.Errorf("forget, rename of an unknown key: %v, %v; want ErrNotFound", errs["forget"], errs["rename"])
	}
}

// TestOpenFreshConcurrently: processes that open a new state file at once
// all open it (one creates the schema; the others wait for it), none fails
// with SQLITE_BUSY.
func TestOpenFreshConcurrently(t *testing.T) {
	for round := range 30 {
		path := filepath.Join(t.TempDir(), "fresh.db")
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(path)
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, opener %d: %v", round, i, err)
			}
		}
	}
}

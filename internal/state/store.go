package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: the key or intent is not in the state.
	ErrNotFound = errors.New("not in state")
	// ErrAlreadyBound: the key is already bound to a vendor group.
	ErrAlreadyBound = errors.New("already bound")
	// ErrIntentOpen: an intent for the same call on the same key is still
	// open; its outcome must be resolved before the call is made again.
	ErrIntentOpen = errors.New("an intent is already open")
	// ErrNewerSchema: the file was written by a newer groupsync.
	ErrNewerSchema = errors.New("newer schema version")
)

// Store is an open state file. Its methods are safe for concurrent use.
type Store struct {
	db      *sql.DB
	path    string    // a file's path, or a PostgreSQL URL with its password redacted
	dialect dialect   // the SQL of the database behind db
	commits committer // batches the journal's small writes
	// prepared are the journal's statements, prepared once (see
	// prepareStatements); read only after Open.
	prepared map[string]*sql.Stmt
	// closed is closed by Close: it stops the heartbeats of locks whose
	// unlock was never called.
	closed    chan struct{}
	closeOnce sync.Once
}

// busyTimeout is how long a statement waits for another connection's or
// process's write lock before failing with SQLITE_BUSY. Every write
// transaction is short, so a long wait means a loaded machine, not a
// deadlock: waiting is better than failing an apply halfway.
const busyTimeout = 30 * time.Second

// Open opens the state file at path, creating it with mode 0600 if it does
// not exist, and migrates its schema forward to the current version. A
// postgres:// URL or a libpq connection string opens the state kept in
// that PostgreSQL database instead (see IsPostgres).
func Open(path string) (*Store, error) {
	return open(path, true)
}

// FileMissing reports whether loc names a state file, not a PostgreSQL
// database, that does not exist: the commands that must not create one
// (Open would) say so instead.
func FileMissing(loc string) bool {
	if IsPostgres(loc) {
		return false
	}
	_, err := os.Stat(loc)
	return errors.Is(err, fs.ErrNotExist)
}

// ErrNotCurrent is OpenCurrent's answer for a state that does not exist,
// or whose schema is not this groupsync's: Open would create or migrate it.
var ErrNotCurrent = errors.New("the state does not exist at this groupsync's schema version")

// OpenCurrent opens the state at path as Open does, but only if it exists
// at the current schema version: it writes nothing, so that it can be read
// before the manifest is known to be valid. Otherwise it fails with
// ErrNotCurrent, and Open is the way to open it.
func OpenCurrent(path string) (*Store, error) {
	return open(path, false)
}

func open(path string, write bool) (*Store, error) {
	if path == "" {
		return nil, errors.New("open state: empty path")
	}
	if IsPostgres(path) {
		return openPostgres(path, write)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open state file %s: the path must not contain '?'", path)
	}
	name := dsn(path)
	if !write {
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			return nil, ErrNotCurrent
		}
		var err error
		if name, err = dsnExisting(path); err != nil {
			return nil, ErrNotCurrent
		}
	} else if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open state file %s: %w", path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	var db *sql.DB
	for {
		var err error
		if db, err = sql.Open("sqlite", name); err != nil {
			return nil, fmt.Errorf("open state file %s: %w", path, err)
		}
		if err = schemaStep(write)(ctx, db, sqliteDialect, path); err == nil {
			break
		}
		db.Close()
		// Turning a new file to WAL takes its lock without the busy
		// handler: two processes opening a new state at once would fail
		// the later one with SQLITE_BUSY instead of letting it wait.
		if !isBusy(err) || !sleepCtx(ctx, 20*time.Millisecond) {
			return nil, err
		}
	}
	s := &Store{db: db, path: path, closed: make(chan struct{})}
	s.commits.prepare(ctx, db)
	s.prepareStatements(ctx)
	return s, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dsn builds the modernc.org/sqlite data source name of the file at path,
// created when missing.
func dsn(path string) string {
	p := path
	if strings.HasPrefix(p, "file:") {
		p = "./" + p // a plain name, never a URI
	}
	return p + dsnParams
}

// dsnExisting is dsn for a file that must exist: a URI (the one form in
// which the driver lets SQLite read mode=rw) that opens it read-write, and
// fails instead of creating it.
func dsnExisting(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=rw"}
	return u.String() + "&" + strings.TrimPrefix(dsnParams, "?"), nil
}

// dsnParams are every connection's settings. Every transaction begins
// IMMEDIATE, taking the write lock up front, so that a transaction that
// reads then writes never fails half-way with SQLITE_BUSY. WAL with
// synchronous=FULL makes each commit durable against a process kill and a
// power loss alike: an intent is on disk before its vendor call is sent.
var dsnParams = "?_txlock=immediate" +
	fmt.Sprintf("&_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()) +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=journal_size_limit(67108864)"

// createPrivate creates path with mode 0600 if it does not exist. SQLite
// gives the -wal and -shm files it creates the mode of the database file.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// Close closes the state file.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close state file %s: %w", s.path, err)
	}
	return nil
}

// Path is the state file's path as given to Open; for PostgreSQL, the URL
// with its password redacted.
func (s *Store) Path() string { return s.path }

// FileSize checkpoints a SQLite state's write-ahead log into the file and
// returns the file's size in bytes: what a copy of the file would weigh.
// It returns 0 for PostgreSQL.
func (s *Store) FileSize(ctx context.Context) (int64, error) {
	if s.dialect == postgresDialect {
		return 0, nil
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return 0, fmt.Errorf("checkpoint state file %s: %w", s.path, err)
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, fmt.Errorf("checkpoint state file %s: %w", s.path, err)
	}
	return fi.Size(), nil
}

// Postgres reports whether the state is kept in PostgreSQL.
func (s *Store) Postgres() bool { return s.dialect == postgresDialect }

// IntegrityCheck runs SQLite's integrity check and the foreign key check and
// returns an error listing what they found, or nil. A PostgreSQL server
// keeps its own integrity: there is nothing to check.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.dialect == postgresDialect {
		return nil
	}
	return integrityCheck(ctx, s.db, s.path)
}

func integrityCheck(ctx context.Context, db *sql.DB, path string) error {
	var problems []string
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("check state file %s: %w", path, err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("check state file %s: %w", path, err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("check state file %s: %w", path, err)
	}
	var fk int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM pragma_foreign_key_check").Scan(&fk)
	if err != nil {
		return fmt.Errorf("check state file %s: %w", path, err)
	}
	if fk > 0 {
		problems = append(problems, fmt.Sprintf("%d foreign key violations", fk))
	}
	if len(problems) > 0 {
		return fmt.Errorf("state file %s is damaged: %s", path, strings.Join(problems, "; "))
	}
	return nil
}

// Serial is a counter that changes with every write to bindings, posts or
// intents (not with cached reads or runs). A saved plan records it; a
// different value at apply time means the state moved since the plan.
func (s *Store) Serial(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = 'serial'").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read state serial: %w", err)
	}
	return n, nil
}

// Lineage is the state's lineage id: 32 hex digits made at random when the
// file was made, never changed. A saved plan records it, so that it is
// applied only to the state it was made from (or a copy of it).
func (s *Store) Lineage(ctx context.Context) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM lineage WHERE id = 1").Scan(&id)
	if err != nil {
		return "", fmt.Errorf("read state lineage: %w", err)
	}
	return id, nil
}

// bumpSerial advances the serial inside a write transaction.
func bumpSerial(ctx context.Context, tx *sql.Tx) error {
	if g, ok := txStores.Load(tx); ok {
		// A group commit adds its writes' bumps at once (groupTxn.flush).
		g.(*groupTxn).bumps++
		return nil
	}
	_, err := execIn(ctx, tx, sqlBumpSerial)
	return err
}

// inTx runs fn in one (IMMEDIATE) transaction and commits it if fn succeeds.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// closeRows closes rows and returns the iteration error, if any.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// timeFormat is fixed-width so that stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// formatTime renders t in UTC; the zero time is stored as NULL.
func formatTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: t.UTC().Format(timeFormat), Valid: true}
}

// parseTime reads a time written by formatTime; NULL is the zero time.
func parseTime(v sql.NullString) (time.Time, error) {
	if !v.Valid || v.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q in state: %w", v.String, err)
	}
	return t.UTC(), nil
}

// now is the current time in UTC, without a monotonic reading.
func now() time.Time { return time.Now().UTC().Round(0) }

// orNow returns t in UTC, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t.UTC()
}

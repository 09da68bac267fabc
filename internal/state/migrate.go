package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"groupsync/internal/vendors"
)

// A migration moves the schema from version-1 to version. Migrations are
// applied forward, in order, each in its own transaction that also records
// its version in schema_version. Adding a schema version is appending one
// entry to migrations; a released entry is never edited.
type migration struct {
	version int
	name    string
	stmts   []string
	// pgStmts are the statements for PostgreSQL where its SQL differs
	// from SQLite's (nil: stmts serve both).
	pgStmts []string
	// run, when set, runs after the statements: a step that converts
	// rows in Go.
	run func(ctx context.Context, tx *sql.Tx, d dialect) error
	// check, when set, runs in the migration's transaction before its
	// statements and refuses a state they cannot apply to, saying why.
	check func(ctx context.Context, tx *sql.Tx, d dialect, path string) error
}

// statements returns m's statements for d.
func (m migration) statements(d dialect) []string {
	if d == postgresDialect && m.pgStmts != nil {
		return m.pgStmts
	}
	return m.stmts
}

// migrations lists every schema version; migrations[i].version == i+1.
var migrations = []migration{
	{version: 1, name: "initial schema", stmts: schemaV1, pgStmts: pgSchemaV1},
	{version: 2, name: "what a create sent, for finding a lost one", stmts: schemaV2},
	{version: 3, name: "the name a created group was given", stmts: schemaV3},
	{version: 4, name: "lock heartbeats", stmts: schemaV4},
	{version: 5, name: "a lineage id, and when an unknown create was last attempted", stmts: schemaV5, pgStmts: pgSchemaV5},
	{version: 6, name: "cached reads stored compactly", stmts: schemaV6, pgStmts: pgSchemaV6, run: compactReads},
	{version: 7, name: "one key per group", stmts: schemaV7, check: checkV7},
	{version: 8, name: "members removed, in the run history", stmts: schemaV8},
}

// compactVersion is the version from which cached reads are stored
// compactly (readcodec.go).
const compactVersion = 6

// schemaV2 records, for a create, the group type and the member whose
// group list can find the group if the answer is lost: recovery must look
// for what was sent, not for what the manifest says later.
var schemaV2 = []string{
	`ALTER TABLE intents ADD COLUMN group_type TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE intents ADD COLUMN member TEXT NOT NULL DEFAULT ''`,
}

// schemaV3 keeps, in a binding, the name groupsync created the group with:
// a create intent records it but is deleted when the create completes, and
// a Yunzhijia read does not return it. A plan uses it to spot a key renamed
// without `previously:`.
var schemaV3 = []string{
	`ALTER TABLE bindings ADD COLUMN name TEXT NOT NULL DEFAULT ''`,
}

// schemaV4 gives the lock a heartbeat its holder renews, and how often it
// does, so that a lock left by a process killed on another host is taken
// over once the heartbeat is stale. The lock id is the row's token. A row
// from before has no heartbeat: its start time stands for it.
var schemaV4 = []string{
	`ALTER TABLE lock ADD COLUMN heartbeat TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE lock ADD COLUMN renew_every_ms INTEGER NOT NULL DEFAULT 0`,
}

// schemaV5 gives the state a lineage: a random id made once, when the file
// is made (or migrated), that a saved plan records, so that a plan is never
// applied to another state that happens to have the same serial. It also
// records when a create of unknown outcome was last attempted (the call
// ended): a vendor may carry the create out late, and it must not be
// concluded "not made" before it has settled since then.
var schemaV5 = []string{
	`CREATE TABLE lineage (
		id    INTEGER PRIMARY KEY CHECK (id = 1),
		value TEXT NOT NULL
	)`,
	`INSERT INTO lineage (id, value) VALUES (1, lower(hex(randomblob(16))))`,
	`ALTER TABLE intents ADD COLUMN attempted_at TEXT`,
}

// pgSchemaV5 is schemaV5 for PostgreSQL, which has no randomblob.
var pgSchemaV5 = []string{
	`CREATE TABLE lineage (
		id    INTEGER PRIMARY KEY CHECK (id = 1),
		value TEXT NOT NULL
	)`,
	`INSERT INTO lineage (id, value) VALUES (1, md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text))`,
	`ALTER TABLE intents ADD COLUMN attempted_at TEXT`,
}

// schemaV6 stores cached reads compactly: a group's read as a compressed
// binary record (readcodec.go) instead of JSON, which made the 10,000×200
// scale world's file about 100 MB, too big for a Git branch. The rows are
// converted by compactReads into a new table that replaces the old one.
var schemaV6 = []string{
	`CREATE TABLE reads_v6 (
		key      TEXT PRIMARY KEY,
		provider TEXT NOT NULL,
		group_id TEXT NOT NULL,
		data     BLOB NOT NULL,
		read_at  TEXT NOT NULL
	)`,
}

var pgSchemaV6 = []string{
	`CREATE TABLE reads_v6 (
		key      TEXT PRIMARY KEY,
		provider TEXT NOT NULL,
		group_id TEXT NOT NULL,
		data     BYTEA NOT NULL,
		read_at  TEXT NOT NULL
	)`,
}

// compactReads copies every cached read into reads_v6, re-encoded, a few
// hundred rows at a time (a PostgreSQL connection cannot write while it
// streams rows), then puts reads_v6 in the place of reads.
func compactReads(ctx context.Context, tx *sql.Tx, d dialect) error {
	after := ""
	for {
		rows, err := tx.QueryContext(ctx,
			"SELECT key, provider, group_id, group_json, read_at FROM reads WHERE key > ? ORDER BY key LIMIT 500", after)
		if err != nil {
			return err
		}
		type row struct {
			key, provider, groupID string
			data                   []byte
			at                     sql.NullString
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.key, &r.provider, &r.groupID, &r.data, &r.at); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			var g vendors.Group
			if err := json.Unmarshal(r.data, &g); err != nil {
				// An unreadable cached read is only a cache miss.
				continue
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO reads_v6 (key, provider, group_id, data, read_at) VALUES (?, ?, ?, ?, ?)",
				r.key, r.provider, r.groupID, encodeGroup(&g), r.at); err != nil {
				return fmt.Errorf("%s: %w", r.key, err)
			}
		}
		after = batch[len(batch)-1].key
	}
	for _, q := range []string{"DROP TABLE reads", "ALTER TABLE reads_v6 RENAME TO reads"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if d == postgresDialect {
		// The primary key's index keeps the old table's name.
		if _, err := tx.ExecContext(ctx, "ALTER INDEX reads_v6_pkey RENAME TO reads_pkey"); err != nil {
			return err
		}
	}
	return nil
}

// schemaV7 makes the state itself refuse a second key bound to a group a
// key already holds (two keys on one group would make every apply act on
// it twice), rather than leaving it to each command to check.
var schemaV7 = []string{
	`CREATE UNIQUE INDEX bindings_group ON bindings (provider, group_id)`,
}

// schemaV8 records in each run how many members it removed (prune): the
// history is where a person looks for what an apply did, and a removal is
// the one change that takes something away. Runs from before count none.
var schemaV8 = []string{
	`ALTER TABLE runs ADD COLUMN removed INTEGER NOT NULL DEFAULT 0`,
}

// checkV7 refuses, naming them, the keys that already share a group: the
// index cannot be made until a person says which key is right.
func checkV7(ctx context.Context, tx *sql.Tx, d dialect, path string) error {
	agg := "group_concat(key, ', ')"
	if d == postgresDialect {
		agg = "string_agg(key, ', ' ORDER BY key)"
	}
	rows, err := tx.QueryContext(ctx, `SELECT provider, group_id, `+agg+` FROM
		(SELECT provider, group_id, key FROM bindings ORDER BY key) AS b
		GROUP BY provider, group_id HAVING count(*) > 1 ORDER BY provider, group_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var dups []string
	for rows.Next() {
		var provider, id, keys string
		if err := rows.Scan(&provider, &id, &keys); err != nil {
			return err
		}
		dups = append(dups, fmt.Sprintf("%s group %s is bound to keys %s", provider, id, keys))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(dups) > 0 {
		return &DuplicateBindingsError{Path: path, Groups: dups}
	}
	return nil
}

// DuplicateBindingsError refuses to migrate a state file in which one group
// is bound to more than one key; nothing was changed in it.
type DuplicateBindingsError struct {
	Path   string
	Groups []string // "kingdee group 5bee… is bound to keys a, b"
}

func (e *DuplicateBindingsError) Error() string {
	return fmt.Sprintf("a group is bound to more than one key, which this groupsync refuses; nothing was changed: %s\nhint: forget the wrong key of each with the groupsync that made the file (`groupsync state forget KEY`), then run again",
		strings.Join(e.Groups, "; "))
}

// currentVersion is the schema version this groupsync writes.
func currentVersion() int { return len(migrations) }

var schemaV1 = []string{
	`CREATE TABLE meta (
		name  TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID`,
	`INSERT INTO meta (name, value) VALUES ('serial', 0)`,
	`CREATE TABLE bindings (
		key      TEXT PRIMARY KEY,
		provider TEXT NOT NULL,
		group_id TEXT NOT NULL,
		origin   TEXT NOT NULL CHECK (origin IN ('created', 'adopted', 'imported', 'recovered')),
		bound_at TEXT NOT NULL
	)`,
	`CREATE TABLE reads (
		key        TEXT PRIMARY KEY,
		provider   TEXT NOT NULL,
		group_id   TEXT NOT NULL,
		group_json BLOB NOT NULL,
		read_at    TEXT NOT NULL
	)`,
	`CREATE TABLE posts (
		key       TEXT NOT NULL,
		kind      TEXT NOT NULL CHECK (kind IN ('notice', 'banner')),
		hash      TEXT NOT NULL,
		vendor_id TEXT NOT NULL,
		posted_at TEXT NOT NULL,
		PRIMARY KEY (key, kind, hash)
	)`,
	`CREATE TABLE intents (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		key        TEXT NOT NULL,
		provider   TEXT NOT NULL,
		kind       TEXT NOT NULL CHECK (kind IN ('create', 'notice', 'banner')),
		name       TEXT NOT NULL,
		hash       TEXT NOT NULL,
		group_id   TEXT NOT NULL,
		started_at TEXT NOT NULL,
		UNIQUE (key, kind, hash)
	)`,
	`CREATE TABLE runs (
		id       INTEGER PRIMARY KEY AUTOINCREMENT,
		started  TEXT NOT NULL,
		ended    TEXT,
		trigger  TEXT NOT NULL,
		outcome  TEXT NOT NULL DEFAULT '',
		created  INTEGER NOT NULL DEFAULT 0,
		added    INTEGER NOT NULL DEFAULT 0,
		posted   INTEGER NOT NULL DEFAULT 0,
		drift    INTEGER NOT NULL DEFAULT 0,
		errors   INTEGER NOT NULL DEFAULT 0,
		message  TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE TABLE lock (
		id        INTEGER PRIMARY KEY CHECK (id = 1),
		pid       INTEGER NOT NULL,
		host      TEXT NOT NULL,
		boot_id   TEXT NOT NULL,
		pid_ns    TEXT NOT NULL,
		pid_start TEXT NOT NULL,
		since     TEXT NOT NULL,
		command   TEXT NOT NULL,
		token     TEXT NOT NULL
	)`,
}

// pgSchemaV1 is schemaV1 for PostgreSQL: identity columns for
// AUTOINCREMENT, BYTEA for BLOB, BIGINT where a count may grow large.
var pgSchemaV1 = []string{
	`CREATE TABLE meta (
		name  TEXT PRIMARY KEY,
		value BIGINT NOT NULL
	)`,
	`INSERT INTO meta (name, value) VALUES ('serial', 0)`,
	`CREATE TABLE bindings (
		key      TEXT PRIMARY KEY,
		provider TEXT NOT NULL,
		group_id TEXT NOT NULL,
		origin   TEXT NOT NULL CHECK (origin IN ('created', 'adopted', 'imported', 'recovered')),
		bound_at TEXT NOT NULL
	)`,
	`CREATE TABLE reads (
		key        TEXT PRIMARY KEY,
		provider   TEXT NOT NULL,
		group_id   TEXT NOT NULL,
		group_json BYTEA NOT NULL,
		read_at    TEXT NOT NULL
	)`,
	`CREATE TABLE posts (
		key       TEXT NOT NULL,
		kind      TEXT NOT NULL CHECK (kind IN ('notice', 'banner')),
		hash      TEXT NOT NULL,
		vendor_id TEXT NOT NULL,
		posted_at TEXT NOT NULL,
		PRIMARY KEY (key, kind, hash)
	)`,
	`CREATE TABLE intents (
		id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		key        TEXT NOT NULL,
		provider   TEXT NOT NULL,
		kind       TEXT NOT NULL CHECK (kind IN ('create', 'notice', 'banner')),
		name       TEXT NOT NULL,
		hash       TEXT NOT NULL,
		group_id   TEXT NOT NULL,
		started_at TEXT NOT NULL,
		UNIQUE (key, kind, hash)
	)`,
	`CREATE TABLE runs (
		id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		started  TEXT NOT NULL,
		ended    TEXT,
		trigger  TEXT NOT NULL,
		outcome  TEXT NOT NULL DEFAULT '',
		created  INTEGER NOT NULL DEFAULT 0,
		added    INTEGER NOT NULL DEFAULT 0,
		posted   INTEGER NOT NULL DEFAULT 0,
		drift    INTEGER NOT NULL DEFAULT 0,
		errors   INTEGER NOT NULL DEFAULT 0,
		message  TEXT NOT NULL DEFAULT ''
	)`,
	`CREATE TABLE lock (
		id        INTEGER PRIMARY KEY CHECK (id = 1),
		pid       INTEGER NOT NULL,
		host      TEXT NOT NULL,
		boot_id   TEXT NOT NULL,
		pid_ns    TEXT NOT NULL,
		pid_start TEXT NOT NULL,
		since     TEXT NOT NULL,
		command   TEXT NOT NULL,
		token     TEXT NOT NULL
	)`,
}

// migrate brings the state forward to currentVersion. A SQLite file whose
// cached reads were just compacted is vacuumed, so that it shrinks.
func migrate(ctx context.Context, db *sql.DB, d dialect, path string) error {
	before, _, err := readVersion(ctx, db, d)
	if err != nil {
		return fmt.Errorf("open state %s: %w", path, err)
	}
	if err := migrateTo(ctx, db, d, path, currentVersion()); err != nil {
		return err
	}
	if d == sqliteDialect && before > 0 && before < compactVersion {
		if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
			return fmt.Errorf("compact state file %s: %w", path, err)
		}
	}
	return nil
}

// schemaStep is what opening a state does to its schema: migrate it
// forward (Open), or only check that it is current (OpenCurrent).
func schemaStep(write bool) func(ctx context.Context, db *sql.DB, d dialect, path string) error {
	if write {
		return migrate
	}
	return func(ctx context.Context, db *sql.DB, d dialect, _ string) error { return checkCurrent(ctx, db, d) }
}

// checkCurrent is ErrNotCurrent unless the state is at the current schema
// version; it only reads.
func checkCurrent(ctx context.Context, db *sql.DB, d dialect) error {
	v, ok, err := readVersion(ctx, db, d)
	switch {
	case err != nil:
		return err
	case !ok || v != currentVersion():
		return ErrNotCurrent
	}
	return nil
}

// migrateTo applies the migrations up to and including version target. A
// file already at target is only read, so that opening an up-to-date file
// takes no write lock. Each step re-reads the version inside its IMMEDIATE
// transaction, so two processes opening a new file at once do not both apply
// a step.
func migrateTo(ctx context.Context, db *sql.DB, d dialect, path string, target int) error {
	if v, ok, err := readVersion(ctx, db, d); err == nil && ok && v >= target {
		if v > currentVersion() {
			return &newerSchemaError{path: path, have: v, known: currentVersion()}
		}
		return nil
	}
	for {
		done, err := migrateStep(ctx, db, d, path, target)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration, or reports that none is due.
func migrateStep(ctx context.Context, db *sql.DB, d dialect, path string, target int) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("open state file %s: %w", path, err)
	}
	defer tx.Rollback()
	if d == postgresDialect {
		// SQLite's IMMEDIATE transaction serialises two processes
		// migrating at once; on PostgreSQL a transaction-scoped advisory
		// lock does.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(1735291764, hashtext(current_schema()))"); err != nil {
			return false, fmt.Errorf("open state %s: %w", path, err)
		}
	}
	v, err := schemaVersion(ctx, tx, d, path)
	if err != nil {
		return false, err
	}
	if v > currentVersion() {
		return false, &newerSchemaError{path: path, have: v, known: currentVersion()}
	}
	if v >= target {
		return true, nil
	}
	m := migrations[v]
	if m.check != nil {
		if err := m.check(ctx, tx, d, path); err != nil {
			return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
		}
	}
	for _, stmt := range m.statements(d) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
		}
	}
	if m.run != nil {
		if err := m.run(ctx, tx, d); err != nil {
			return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
		}
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
		m.version, formatTime(now()))
	if err != nil {
		return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
	}
	return false, nil
}

// schemaVersion returns the file's schema version, creating schema_version
// in a new, empty file. A file that has tables but no schema_version is not a
// groupsync state file and is refused rather than written to.
func schemaVersion(ctx context.Context, tx *sql.Tx, d dialect, path string) (int, error) {
	v, versioned, err := readVersion(ctx, tx, d)
	if err != nil {
		return 0, fmt.Errorf("open state file %s: %w", path, err)
	}
	if versioned {
		return v, nil
	}
	var tables int
	if err := tx.QueryRowContext(ctx, countTables(d, "")).Scan(&tables); err != nil {
		return 0, fmt.Errorf("open state file %s: %w", path, err)
	}
	if tables > 0 {
		return 0, fmt.Errorf("open state file %s: not a groupsync state file (it has tables but no schema_version)", path)
	}
	_, err = tx.ExecContext(ctx, `CREATE TABLE schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`)
	if err != nil {
		return 0, fmt.Errorf("open state file %s: %w", path, err)
	}
	return 0, nil
}

// readVersion returns the schema version, and false when the file has no
// schema_version table.
func readVersion(ctx context.Context, q rowQuerier, d dialect) (int, bool, error) {
	var versioned int
	err := q.QueryRowContext(ctx, countTables(d, "schema_version")).Scan(&versioned)
	if err != nil || versioned == 0 {
		return 0, false, err
	}
	var v int
	err = q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, err == nil, err
}

// countTables is a query of how many tables the state has (named name,
// unless name is empty). A PostgreSQL state is the schema first on the
// search path (current_schema).
func countTables(d dialect, name string) string {
	if d == postgresDialect {
		q := "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
		if name != "" {
			q += " AND table_name = '" + name + "'"
		}
		return q
	}
	if name != "" {
		return "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + name + "'"
	}
	return "SELECT count(*) FROM sqlite_schema"
}

// newerSchemaError refuses a file written by a newer groupsync.
type newerSchemaError struct {
	path        string
	have, known int
}

func (e *newerSchemaError) Error() string {
	return fmt.Sprintf("state file %s has schema version %d, newer than this groupsync understands (%d): upgrade groupsync",
		e.path, e.have, e.known)
}

func (e *newerSchemaError) Is(target error) bool { return target == ErrNewerSchema }

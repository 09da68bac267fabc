package state

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// A migration moves the schema from version-1 to version. Migrations are
// applied forward, in order, each in its own transaction that also records
// its version in schema_version. Adding a schema version is appending one
// entry to migrations; a released entry is never edited.
type migration struct {
	version int
	name    string
	stmts   []string
	// check, when set, runs in the migration's transaction before its
	// statements and refuses a file they cannot apply to, saying why.
	check func(ctx context.Context, tx *sql.Tx, path string) error
}

// migrations lists every schema version; migrations[i].version == i+1.
var migrations = []migration{
	{1, "initial schema", schemaV1, nil},
	{2, "what a create sent, for finding a lost one", schemaV2, nil},
	{3, "the name a created group was given", schemaV3, nil},
	{4, "lock heartbeats", schemaV4, nil},
	{5, "a lineage id, and when an unknown create was last attempted", schemaV5, nil},
	{6, "one key per group", schemaV6, checkV6},
}

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

// schemaV6 makes the state itself refuse a second key bound to a group a
// key already holds (two keys on one group would make every apply act on
// it twice), rather than leaving it to each command to check.
var schemaV6 = []string{
	`CREATE UNIQUE INDEX bindings_group ON bindings (provider, group_id)`,
}

// checkV6 refuses, naming them, the keys that already share a group: the
// index cannot be made until a person says which key is right.
func checkV6(ctx context.Context, tx *sql.Tx, path string) error {
	rows, err := tx.QueryContext(ctx, `SELECT provider, group_id, group_concat(key, ', ') FROM
		(SELECT provider, group_id, key FROM bindings ORDER BY key)
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

// migrate brings the file forward to currentVersion.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	return migrateTo(ctx, db, path, currentVersion())
}

// migrateTo applies the migrations up to and including version target. A
// file already at target is only read, so that opening an up-to-date file
// takes no write lock. Each step re-reads the version inside its IMMEDIATE
// transaction, so two processes opening a new file at once do not both apply
// a step.
func migrateTo(ctx context.Context, db *sql.DB, path string, target int) error {
	if v, ok, err := readVersion(ctx, db); err == nil && ok && v >= target {
		if v > currentVersion() {
			return &newerSchemaError{path: path, have: v, known: currentVersion()}
		}
		return nil
	}
	for {
		done, err := migrateStep(ctx, db, path, target)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep applies the next migration, or reports that none is due.
func migrateStep(ctx context.Context, db *sql.DB, path string, target int) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("open state file %s: %w", path, err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx, path)
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
		if err := m.check(ctx, tx, path); err != nil {
			return false, fmt.Errorf("migrate state file %s to version %d (%s): %w", path, m.version, m.name, err)
		}
	}
	for _, stmt := range m.stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
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
func schemaVersion(ctx context.Context, tx *sql.Tx, path string) (int, error) {
	v, versioned, err := readVersion(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("open state file %s: %w", path, err)
	}
	if versioned {
		return v, nil
	}
	var tables int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
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
func readVersion(ctx context.Context, q rowQuerier) (int, bool, error) {
	var versioned int
	err := q.QueryRowContext(ctx,
		"SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'").Scan(&versioned)
	if err != nil || versioned == 0 {
		return 0, false, err
	}
	var v int
	err = q.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	return v, err == nil, err
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

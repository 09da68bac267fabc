// Package state is groupsync's memory: one SQLite file (groupsync.db by
// default), or a PostgreSQL schema (a postgres:// URL or a libpq
// connection string), that makes
// reconciliation safe across runs and crashes. It is the only package that
// holds a *sql.DB; callers see domain methods, never SQL. Both databases run
// the same SQL text (dialect.go rewrites placeholders for PostgreSQL); the
// few statements that differ branch on the dialect.
//
// The file holds:
//
//   - bindings: group key -> provider and vendor group id, and how the
//     binding came about (created, adopted, imported, recovered);
//   - reads: the last live read of each group with its time, so a plan can
//     work offline from the cache;
//   - posts: the notices and banners posted per group, by content hash, so
//     that each distinct content is posted once;
//   - the journal: an intent committed before a create or post is sent and
//     closed after; an intent left open marks a call whose outcome is unknown;
//   - run history, for scheduled mode and its metrics;
//   - the lock: one apply or run per state file at a time (on PostgreSQL a
//     session advisory lock the server releases when its holder's
//     connection ends, plus the row that names the holder);
//   - cached reads are stored as compressed binary records (readcodec.go).
//
// Invariants:
//
//   - The file and its -wal and -shm companions are created with mode 0600.
//   - The schema is versioned; Open migrates an older file forward in order
//     and refuses a file written by a newer groupsync.
//   - Every write is atomic: one transaction, or for the journal's small
//     writes one savepoint in a transaction that concurrent writes share
//     (group commit: one fsync for many), never reported done before its
//     commit. A completion (CompleteCreate, CompletePost) closes its intent
//     and records the outcome atomically, and an intent is durable
//     (synchronous=FULL; PostgreSQL's commit) before BeginIntent returns.
//   - Serial changes with every write to bindings, posts or intents, so a
//     saved plan can tell that the state moved under it; Lineage, made once
//     with the file, tells it that it is another state altogether.
//   - Times are stored and returned in UTC.
package state

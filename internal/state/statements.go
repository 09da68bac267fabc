package state

import (
	"context"
	"database/sql"
	"sync"
)

// The journal's statements run for every write of an apply, twice (the
// intent before the call, its completion after); parsing them took half of
// the journal's CPU. They are prepared once per connection instead.
const (
	sqlBumpSerial   = "UPDATE meta SET value = value + 1 WHERE name = 'serial'"
	sqlInsertIntent = `INSERT INTO intents (key, provider, kind, name, hash, group_id, started_at, group_type, member)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	sqlCheckIntent = `SELECT
		(SELECT count(*) FROM intents WHERE key = ?1 AND kind = ?2 AND hash = ?3),
		(SELECT count(*) FROM bindings WHERE key = ?1)`
	sqlIntentByID   = "SELECT " + intentColumns + " FROM intents WHERE id = ?"
	sqlDeleteIntent = "DELETE FROM intents WHERE id = ?"
	sqlInsertPost   = `INSERT INTO posts (key, kind, hash, vendor_id, posted_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key, kind, hash) DO UPDATE SET vendor_id = excluded.vendor_id, posted_at = excluded.posted_at`
	sqlBind = `INSERT INTO bindings (key, provider, group_id, origin, bound_at, name)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET provider = excluded.provider, group_id = excluded.group_id,
			origin = excluded.origin, bound_at = excluded.bound_at, name = excluded.name`
)

var journalStatements = []string{sqlBumpSerial, sqlInsertIntent, sqlCheckIntent, sqlIntentByID, sqlDeleteIntent, sqlInsertPost, sqlBind}

// prepareStatements prepares the journal's statements on s's database; one
// that fails to prepare is parsed at each use, as before.
func (s *Store) prepareStatements(ctx context.Context) {
	s.prepared = map[string]*sql.Stmt{}
	for _, q := range journalStatements {
		if st, err := s.db.PrepareContext(ctx, q); err == nil {
			s.prepared[q] = st
		}
	}
}

// txStores maps the transactions of a group commit to their Store, so
// that the journal's helpers, which see only the transaction, find its
// prepared statements.
var txStores sync.Map // *sql.Tx -> *Store

// statement returns the prepared form of query for tx, or nil.
func statement(tx *sql.Tx, query string) *sql.Stmt {
	if s, ok := txStores.Load(tx); ok {
		return s.(*Store).prepared[query]
	}
	return nil
}

// execIn runs query in tx, prepared when it is one of the journal's.
func execIn(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := statement(tx, query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryRowIn is execIn for a query of one row.
func queryRowIn(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := statement(tx, query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

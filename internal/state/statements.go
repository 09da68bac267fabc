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
	sqlAddSerial    = "UPDATE meta SET value = value + ? WHERE name = 'serial'"
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

var journalStatements = []string{sqlBumpSerial, sqlAddSerial, sqlInsertIntent, sqlCheckIntent, sqlIntentByID, sqlDeleteIntent, sqlInsertPost, sqlBind}

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

// txStores maps the transactions of a group commit to their groupTxn, so
// that the journal's helpers, which see only the transaction, find its
// prepared statements and its serial.
var txStores sync.Map // *sql.Tx -> *groupTxn

// groupTxn is a group commit's transaction: its Store, and the serial bumps
// its writes asked for, made as one statement before it commits (a write
// each fewer). Only the batch's leader uses it.
type groupTxn struct {
	s     *Store
	bumps int64
}

// register makes tx a group commit's transaction until the returned func.
func (s *Store) register(tx *sql.Tx) (*groupTxn, func()) {
	g := &groupTxn{s: s}
	txStores.Store(tx, g)
	return g, func() { txStores.Delete(tx) }
}

// flush adds the bumps asked for to the serial, in tx.
func (g *groupTxn) flush(tx *sql.Tx) error {
	if g.bumps == 0 {
		return nil
	}
	_, err := execIn(context.Background(), tx, sqlAddSerial, g.bumps)
	g.bumps = 0
	return err
}

// statement returns the prepared form of query for tx, or nil.
func statement(tx *sql.Tx, query string) *sql.Stmt {
	if g, ok := txStores.Load(tx); ok {
		return g.(*groupTxn).s.prepared[query]
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

package state

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"sync"
)

// committer batches the small write transactions of concurrent callers
// into one SQLite transaction (group commit): a commit costs an fsync, and
// an apply with 32 calls in flight journals each of them. Every caller's
// work runs in its own savepoint, so it succeeds or fails alone, and no
// caller returns before the commit that made its work durable. Callers
// queue in the process instead of polling SQLite's busy handler.
//
// The first caller to find the committer idle leads: it commits the queue
// as one transaction, then hands the lead to the first caller that queued
// meanwhile, and returns.
type committer struct {
	mu    sync.Mutex
	queue []*pendingTx
	busy  bool // a leader is committing

	// The savepoint statements, prepared once (nil: each is parsed at
	// every use): a batch runs three of them for every caller's work.
	savepoint, release, rollbackTo *sql.Stmt
}

// The savepoint statements of a batch.
const (
	sqlSavepoint  = "SAVEPOINT grouptx"
	sqlRelease    = "RELEASE grouptx"
	sqlRollbackTo = "ROLLBACK TO grouptx"
)

// prepare prepares the savepoint statements on db; a statement that fails
// to prepare is parsed at every use instead.
func (c *committer) prepare(ctx context.Context, db *sql.DB) {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{{&c.savepoint, sqlSavepoint}, {&c.release, sqlRelease}, {&c.rollbackTo, sqlRollbackTo}} {
		if st, err := db.PrepareContext(ctx, p.sql); err == nil {
			*p.st = st
		}
	}
}

// execSavepoint runs one of the savepoint statements in tx.
func execSavepoint(tx *sql.Tx, st *sql.Stmt, query string) error {
	bg := context.Background()
	var err error
	if st != nil {
		_, err = tx.StmtContext(bg, st).ExecContext(bg)
	} else {
		_, err = tx.ExecContext(bg, query)
	}
	return err
}

type pendingTx struct {
	// given reports whether its caller has given up (the caller's
	// ctx.Err): work not yet begun is then not done.
	given func() error
	fn    func(tx *sql.Tx) error
	done  chan error    // its outcome, after the commit
	lead  chan struct{} // it leads the next batch
}

// groupTx runs fn as inTx does (one IMMEDIATE transaction, durable when it
// returns nil), possibly sharing the transaction and its commit with other
// callers' fns. fn's changes are undone alone when it fails. fn may run
// twice (another caller's fn failed the first time, see commitPlain): it
// must do the same from the same database, keeping no state of its own.
func (s *Store) groupTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &pendingTx{given: ctx.Err, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	c := &s.commits
	c.mu.Lock()
	c.queue = append(c.queue, op)
	leader := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !leader {
		// Wait for the outcome even if ctx ends: the work may be committed.
		select {
		case err := <-op.done:
			return err
		case <-op.lead:
		}
	}
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	s.commitBatch(batch)
	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].lead <- struct{}{}
	} else {
		c.busy = false
	}
	c.mu.Unlock()
	return <-op.done
}

// commitBatch runs the pending fns in one transaction, commits, and tells
// each caller its outcome: each fn in a savepoint of its own when one of
// them fails.
func (s *Store) commitBatch(batch []*pendingTx) {
	errs := make([]error, len(batch))
	defer func() {
		for i, op := range batch {
			op.done <- errs[i]
		}
	}()
	// Not any one caller's context: a caller that gives up must not undo
	// the others' work.
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return
	}
	// The journal's helpers find the prepared statements by tx.
	g, done := s.register(tx)
	defer done()
	if s.commitPlain(tx, g, batch, errs) {
		return
	}
	// An op failed, and the batch was rolled back: again, each op in a
	// savepoint, so that it fails alone.
	if tx, err = s.db.BeginTx(context.Background(), nil); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return
	}
	g, done = s.register(tx)
	defer done()
	committed := false
	for i, op := range batch {
		var lost error
		before := g.bumps
		errs[i], lost = s.commits.inSavepoint(tx, op)
		if errs[i] != nil {
			g.bumps = before // undone with its savepoint
		}
		if lost != nil {
			// The transaction is gone (SQLite rolls it all back on some
			// errors): nothing of the batch is committed.
			tx.Rollback()
			for j := range errs {
				if errs[j] == nil {
					errs[j] = lost
				}
			}
			return
		}
		committed = committed || errs[i] == nil
	}
	if !committed {
		tx.Rollback()
		return
	}
	err = g.flush(tx)
	if err != nil {
		tx.Rollback()
	} else {
		err = tx.Commit()
	}
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
}

// commitPlain runs every op of batch in tx with no savepoint (two
// statements fewer for each: ops seldom fail) and commits. It reports
// false, with tx rolled back and errs untouched, when an op of a batch of
// several failed: the caller then runs the batch again, each op in a
// savepoint. An op alone fails alone by the rollback. An op whose caller
// gave up before it began is left out, as inSavepoint leaves it out.
func (s *Store) commitPlain(tx *sql.Tx, g *groupTxn, batch []*pendingTx, errs []error) bool {
	gone := make([]error, len(batch))
	ran := false
	for i, op := range batch {
		if gone[i] = op.given(); gone[i] != nil {
			continue
		}
		if err := op.fn(tx); err != nil {
			tx.Rollback()
			if len(batch) == 1 {
				errs[0] = err
				return true
			}
			return false
		}
		ran = true
	}
	var err error
	if ran {
		if err = g.flush(tx); err != nil {
			tx.Rollback()
		} else {
			err = tx.Commit()
		}
	} else {
		tx.Rollback()
	}
	for i := range errs {
		errs[i] = cmp.Or(gone[i], err)
	}
	return true
}

// inSavepoint runs op's fn in a savepoint, undoing it when it fails. lost
// is set when the transaction itself can no longer be used.
func (c *committer) inSavepoint(tx *sql.Tx, op *pendingTx) (err, lost error) {
	if err := op.given(); err != nil {
		return err, nil
	}
	if err := execSavepoint(tx, c.savepoint, sqlSavepoint); err != nil {
		return err, err
	}
	if err := op.fn(tx); err != nil {
		if rerr := execSavepoint(tx, c.rollbackTo, sqlRollbackTo); rerr != nil {
			return err, errors.Join(err, rerr)
		}
		if rerr := execSavepoint(tx, c.release, sqlRelease); rerr != nil {
			return err, errors.Join(err, rerr)
		}
		return err, nil
	}
	if err := execSavepoint(tx, c.release, sqlRelease); err != nil {
		return err, err
	}
	return nil, nil
}

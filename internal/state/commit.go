package state

import (
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
}

type pendingTx struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error    // its outcome, after the commit
	lead chan struct{} // it leads the next batch
}

// groupTx runs fn as inTx does (one IMMEDIATE transaction, durable when it
// returns nil), possibly sharing the transaction and its commit with other
// callers' fns. fn's changes are undone alone when it fails.
func (s *Store) groupTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &pendingTx{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
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

// commitBatch runs each pending fn in a savepoint of one transaction,
// commits, and tells each caller its outcome.
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
	committed := false
	for i, op := range batch {
		var lost error
		errs[i], lost = inSavepoint(tx, op)
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
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
}

// inSavepoint runs op's fn in a savepoint, undoing it when it fails. lost
// is set when the transaction itself can no longer be used.
func inSavepoint(tx *sql.Tx, op *pendingTx) (err, lost error) {
	if err := op.ctx.Err(); err != nil {
		return err, nil
	}
	bg := context.Background()
	if _, err := tx.ExecContext(bg, "SAVEPOINT grouptx"); err != nil {
		return err, err
	}
	if err := op.fn(tx); err != nil {
		if _, rerr := tx.ExecContext(bg, "ROLLBACK TO grouptx"); rerr != nil {
			return err, errors.Join(err, rerr)
		}
		if _, rerr := tx.ExecContext(bg, "RELEASE grouptx"); rerr != nil {
			return err, errors.Join(err, rerr)
		}
		return err, nil
	}
	if _, err := tx.ExecContext(bg, "RELEASE grouptx"); err != nil {
		return err, err
	}
	return nil, nil
}

package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Outcome is how a run ended: the one vocabulary the run history, the
// metrics (groupsync_runs_total's outcome label), the health endpoint and
// the command's logs share.
type Outcome string

// Outcomes of a run.
const (
	RunOK          Outcome = "ok"
	RunFailed      Outcome = "failed"
	RunSkipped     Outcome = "skipped" // a scheduled tick that came while a run was still going
	RunInterrupted Outcome = "interrupted"
)

// Run is one plan-and-apply of scheduled mode or of apply.
type Run struct {
	ID      int64
	Started time.Time
	Ended   time.Time // zero while the run is in progress
	Trigger string    // what started it, e.g. "schedule", "apply"
	Outcome Outcome   // RunOK, RunFailed, RunSkipped, RunInterrupted; "" while in progress
	Created int
	Added   int
	Removed int // members removed (prune)
	Posted  int
	Drift   int
	Errors  int
	Message string
}

// BeginRun records the start of a run and returns its id. It does not change
// Serial.
func (s *Store) BeginRun(ctx context.Context, started time.Time, trigger string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, "INSERT INTO runs (started, trigger) VALUES (?, ?) RETURNING id",
		formatTime(orNow(started)), trigger).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	return id, nil
}

// EndRun records the end of run r.ID: its end time (now when zero), outcome,
// counts and message. It does not change Serial.
func (s *Store) EndRun(ctx context.Context, r Run) error {
	switch r.Outcome {
	case RunOK, RunFailed, RunSkipped, RunInterrupted:
	default:
		return fmt.Errorf("record end of run %d: unknown outcome %q", r.ID, r.Outcome)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET ended = ?, outcome = ?, created = ?, added = ?,
		removed = ?, posted = ?, drift = ?, errors = ?, message = ? WHERE id = ?`,
		formatTime(orNow(r.Ended)), r.Outcome, r.Created, r.Added, r.Removed, r.Posted, r.Drift, r.Errors, r.Message, r.ID)
	if err != nil {
		return fmt.Errorf("record end of run %d: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record end of run %d: %w", r.ID, err)
	} else if n == 0 {
		return fmt.Errorf("record end of run %d: run %w", r.ID, ErrNotFound)
	}
	return nil
}

// Runs returns up to limit runs, newest first; limit <= 0 means all.
func (s *Store) Runs(ctx context.Context, limit int) ([]Run, error) {
	q := `SELECT id, started, ended, trigger, outcome, created, added,
		removed, posted, drift, errors, message FROM runs ORDER BY id DESC`
	var args []any
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read runs: %w", err)
		}
		out = append(out, r)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

func scanRun(sc scanner) (Run, error) {
	var r Run
	var started, ended sql.NullString
	err := sc.Scan(&r.ID, &started, &ended, &r.Trigger, &r.Outcome, &r.Created, &r.Added,
		&r.Removed, &r.Posted, &r.Drift, &r.Errors, &r.Message)
	if err != nil {
		return r, err
	}
	if r.Started, err = parseTime(started); err != nil {
		return r, err
	}
	r.Ended, err = parseTime(ended)
	return r, err
}

package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// A saved plan is sealed in the state it was made from: `plan --out`
// records the plan's seal (a digest of the file's bytes and of the
// groupsync that wrote them) with the serial the plan was made at. `apply`
// of a plan whose seal it finds at that serial knows the file is the one
// this state's groupsync made from a manifest that was valid at the plan's
// digest, so it need not load and check every group of the manifest again.
//
// Seals are rows of the meta table named sealPrefix+seal, valued the serial:
// no schema change, and a state command that ignores them (state copy, an
// older groupsync) loses nothing but the shortcut.
const sealPrefix = "plan-seal:"

// sqlDropSeals forgets every seal: state copy, which may take the serial
// back, runs it.
const sqlDropSeals = "DELETE FROM meta WHERE name LIKE '" + sealPrefix + "%'"

// maxSeals bounds the seals kept at one serial: plans saved again and again
// (a CI job on every push) while nothing is applied. Past it they all go
// but the newest; their plans, if applied, are checked in full.
const maxSeals = 256

// SealPlan records seal as a plan made at serial. It does not change the
// serial: a seal is not a change a plan could be stale against. Seals of
// earlier serials are dropped, since no apply accepts their plans.
func (s *Store) SealPlan(ctx context.Context, seal string, serial int64) error {
	if seal == "" {
		return errors.New("seal plan: empty seal")
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE name LIKE ? AND value < ?", sealPrefix+"%", serial); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE name LIKE ?", sealPrefix+"%").Scan(&n); err != nil {
			return err
		}
		if n >= maxSeals {
			// No seal records when it was made: all go but this one.
			if _, err := tx.ExecContext(ctx, sqlDropSeals); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, sealPrefix+seal, serial)
		return err
	})
	if err != nil {
		return fmt.Errorf("seal plan in state %s: %w", s.path, err)
	}
	return nil
}

// PlanSealed reports whether seal was recorded (SealPlan) for a plan made
// at serial.
func (s *Store) PlanSealed(ctx context.Context, seal string, serial int64) (bool, error) {
	if seal == "" {
		return false, nil
	}
	var at int64
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE name = ?", sealPrefix+seal).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read plan seal in state %s: %w", s.path, err)
	}
	return at == serial, nil
}

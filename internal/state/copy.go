package state

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// copyTables are the tables a copy carries, with their columns. The lock
// is not copied (each side's is its holder's own), nor schema_version (both
// sides are at the current version once open).
var copyTables = []struct{ name, cols string }{
	{"bindings", "key, provider, group_id, origin, bound_at, name"},
	{"reads", "key, provider, group_id, data, read_at"},
	{"posts", "key, kind, hash, vendor_id, posted_at"},
	{"intents", "id, " + strings.TrimPrefix(intentColumns, "id, ")},
	{"runs", "id, started, ended, trigger, outcome, created, added, removed, posted, drift, errors, message"},
}

// Counts is how many rows of each kind a state holds.
type Counts struct {
	Bindings, Reads, Posts, Intents, Runs int64
	Serial                                int64
	Lineage                               string
}

// Empty reports whether the state holds nothing a copy would replace.
func (c Counts) Empty() bool {
	return c.Bindings+c.Reads+c.Posts+c.Intents+c.Runs == 0
}

func (c Counts) String() string {
	return fmt.Sprintf("%d bindings, %d cached reads, %d posts, %d open intents, %d runs",
		c.Bindings, c.Reads, c.Posts, c.Intents, c.Runs)
}

// Counts counts the state's rows, and reads its serial and lineage.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM bindings), (SELECT count(*) FROM reads), (SELECT count(*) FROM posts),
		(SELECT count(*) FROM intents), (SELECT count(*) FROM runs),
		(SELECT value FROM meta WHERE name = 'serial'), (SELECT value FROM lineage WHERE id = 1)`).Scan(
		&c.Bindings, &c.Reads, &c.Posts, &c.Intents, &c.Runs, &c.Serial, &c.Lineage)
	if err != nil {
		return c, fmt.Errorf("count state %s: %w", s.path, err)
	}
	return c, nil
}

// CopyTo replaces everything dst holds with what s holds (bindings, cached
// reads, posts, open intents, runs, serial and lineage: a copy is the same
// state, so a plan made from one applies to the other) in one transaction
// of dst, then checks that the counts agree. The caller holds both locks.
func (s *Store) CopyTo(ctx context.Context, dst *Store) (Counts, error) {
	src, err := s.Counts(ctx)
	if err != nil {
		return src, err
	}
	fail := func(err error) (Counts, error) {
		return src, fmt.Errorf("copy state %s to %s: %w", s.path, dst.path, err)
	}
	err = dst.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range copyTables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.name); err != nil {
				return err
			}
			if err := copyTable(ctx, s.db, tx, t.name, t.cols); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE meta SET value = ? WHERE name = 'serial'", src.Serial); err != nil {
			return err
		}
		// The serial may go back: a seal of dst's could then name a serial
		// its new contents reach again, different (see SealPlan).
		if _, err := tx.ExecContext(ctx, sqlDropSeals); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE lineage SET value = ? WHERE id = 1", src.Lineage); err != nil {
			return err
		}
		if dst.dialect == postgresDialect {
			// Ids copied as they were: the identity sequences continue
			// after them, as SQLite's AUTOINCREMENT does by itself.
			for _, t := range []string{"intents", "runs"} {
				q := "SELECT setval(pg_get_serial_sequence('" + t + "', 'id'), coalesce((SELECT max(id) FROM " + t + "), 0) + 1, false)"
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	got, err := dst.Counts(ctx)
	if err != nil {
		return fail(err)
	}
	if got != src {
		return fail(fmt.Errorf("the copy holds %s (serial %d), the source %s (serial %d)", got, got.Serial, src, src.Serial))
	}
	return src, nil
}

// copyTable streams a table's rows from src into tx.
func copyTable(ctx context.Context, src *sql.DB, tx *sql.Tx, table, cols string) error {
	n := strings.Count(cols, ",") + 1
	ins, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" ("+cols+") VALUES (?"+strings.Repeat(", ?", n-1)+")")
	if err != nil {
		return err
	}
	defer ins.Close()
	rows, err := src.QueryContext(ctx, "SELECT "+cols+" FROM "+table)
	if err != nil {
		return err
	}
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return err
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			rows.Close()
			return err
		}
	}
	return closeRows(rows)
}

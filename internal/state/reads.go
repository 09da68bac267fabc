package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"groupsync/internal/vendors"
)

// Read is the last live read of a group, cached so that a plan can run
// offline (plan --refresh=false).
type Read struct {
	Key      string
	Provider string
	GroupID  string
	Group    vendors.Group
	ReadAt   time.Time // UTC; SaveReads sets the current time when zero
}

// SaveReads caches reads, replacing earlier reads of the same keys, in one
// transaction: caching ten thousand reads costs one commit, not ten thousand.
// It does not change Serial.
func (s *Store) SaveReads(ctx context.Context, reads []Read) error {
	if len(reads) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO reads (key, provider, group_id, group_json, read_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET provider = excluded.provider, group_id = excluded.group_id,
				group_json = excluded.group_json, read_at = excluded.read_at`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		at := now()
		for _, r := range reads {
			if err := saveRead(ctx, stmt, r, at); err != nil {
				return fmt.Errorf("%s: %w", r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache reads: %w", err)
	}
	return nil
}

func saveRead(ctx context.Context, stmt *sql.Stmt, r Read, at time.Time) error {
	switch {
	case r.Key == "":
		return errors.New("empty key")
	case r.Provider == "":
		return errors.New("empty provider")
	case r.GroupID == "":
		return errors.New("empty group id")
	}
	data, err := json.Marshal(r.Group)
	if err != nil {
		return err
	}
	if !r.ReadAt.IsZero() {
		at = r.ReadAt
	}
	_, err = stmt.ExecContext(ctx, r.Key, r.Provider, r.GroupID, data, formatTime(at))
	return err
}

// Reads returns every cached read by key.
func (s *Store) Reads(ctx context.Context) (map[string]Read, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, provider, group_id, group_json, read_at FROM reads")
	if err != nil {
		return nil, fmt.Errorf("read cached reads: %w", err)
	}
	out := map[string]Read{}
	for rows.Next() {
		r, err := scanRead(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read cached read of %s: %w", r.Key, err)
		}
		out[r.Key] = r
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read cached reads: %w", err)
	}
	return out, nil
}

// CachedRead returns the cached read of key, and false when there is none.
func (s *Store) CachedRead(ctx context.Context, key string) (Read, bool, error) {
	row := s.db.QueryRowContext(ctx,
		"SELECT key, provider, group_id, group_json, read_at FROM reads WHERE key = ?", key)
	r, err := scanRead(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Read{}, false, nil
	}
	if err != nil {
		return Read{}, false, fmt.Errorf("read cached read of %s: %w", key, err)
	}
	return r, true, nil
}

func scanRead(sc scanner) (Read, error) {
	var r Read
	var data []byte
	var at sql.NullString
	if err := sc.Scan(&r.Key, &r.Provider, &r.GroupID, &data, &at); err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r.Group); err != nil {
		return r, err
	}
	t, err := parseTime(at)
	r.ReadAt = t
	return r, err
}

package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Origin says how a key came to be bound to a vendor group.
type Origin string

// Origins of a binding.
const (
	OriginCreated   Origin = "created"   // groupsync created the group
	OriginAdopted   Origin = "adopted"   // the manifest pinned an existing group (groupId:)
	OriginImported  Origin = "imported"  // `state import KEY GROUPID`
	OriginRecovered Origin = "recovered" // found after a create whose outcome was unknown
)

func (o Origin) valid() bool {
	switch o {
	case OriginCreated, OriginAdopted, OriginImported, OriginRecovered:
		return true
	}
	return false
}

// Binding maps a group key to a vendor group.
type Binding struct {
	Key      string
	Provider string
	GroupID  string
	Origin   Origin
	BoundAt  time.Time // UTC; Bind sets the current time when zero
	// Name is the name groupsync created the group with (CompleteCreate
	// takes it from the intent); empty for a group it did not create.
	Name string
}

// Bindings returns every binding by key.
func (s *Store) Bindings(ctx context.Context) (map[string]Binding, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT key, provider, group_id, origin, bound_at, name FROM bindings")
	if err != nil {
		return nil, fmt.Errorf("read bindings: %w", err)
	}
	out := map[string]Binding{}
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read bindings: %w", err)
		}
		out[b.Key] = b
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read bindings: %w", err)
	}
	return out, nil
}

// Binding returns the binding of key, and false when key is not bound.
func (s *Store) Binding(ctx context.Context, key string) (Binding, bool, error) {
	row := s.db.QueryRowContext(ctx,
		"SELECT key, provider, group_id, origin, bound_at, name FROM bindings WHERE key = ?", key)
	b, err := scanBinding(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Binding{}, false, nil
	}
	if err != nil {
		return Binding{}, false, fmt.Errorf("read binding of %s: %w", key, err)
	}
	return b, true, nil
}

// Bind binds b.Key to b.GroupID, replacing any earlier binding of the key.
func (s *Store) Bind(ctx context.Context, b Binding) error {
	if err := s.groupTx(ctx, func(tx *sql.Tx) error { return bind(ctx, tx, b) }); err != nil {
		return fmt.Errorf("bind %s: %w", b.Key, err)
	}
	return nil
}

// GroupBoundError refuses to bind a group another key holds: two keys on one
// group would make every apply act on it twice. The state's unique index
// on (provider, group id) enforces it too.
type GroupBoundError struct {
	Provider, GroupID string
	Key               string // the key that holds the group
}

func (e *GroupBoundError) Error() string {
	return fmt.Sprintf("%s group %s is already bound to key %s", e.Provider, e.GroupID, e.Key)
}

// bind upserts b and advances the serial, inside tx.
func bind(ctx context.Context, tx *sql.Tx, b Binding) error {
	if err := checkBinding(b); err != nil {
		return err
	}
	var holder string
	err := tx.QueryRowContext(ctx, "SELECT key FROM bindings WHERE provider = ? AND group_id = ? AND key <> ?",
		b.Provider, b.GroupID, b.Key).Scan(&holder)
	switch {
	case err == nil:
		return &GroupBoundError{Provider: b.Provider, GroupID: b.GroupID, Key: holder}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = execIn(ctx, tx, sqlBind,
		b.Key, b.Provider, b.GroupID, string(b.Origin), formatTime(orNow(b.BoundAt)), b.Name)
	if err != nil {
		return err
	}
	return bumpSerial(ctx, tx)
}

func checkBinding(b Binding) error {
	switch {
	case b.Key == "":
		return errors.New("empty key")
	case b.Provider == "":
		return errors.New("empty provider")
	case b.GroupID == "":
		return errors.New("empty group id")
	case !b.Origin.valid():
		return fmt.Errorf("unknown origin %q", b.Origin)
	}
	return nil
}

// Forget removes everything the state holds about key: its binding, its
// cached read, its posts and its open intents. It returns ErrNotFound when
// the state holds nothing about key.
func (s *Store) Forget(ctx context.Context, key string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var removed int64
		for _, table := range keyedTables {
			res, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE key = ?", key)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			removed += n
		}
		if removed == 0 {
			return ErrNotFound
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("forget %s: %w", key, err)
	}
	return nil
}

// keyedTables hold rows by group key; Forget and Rename cover them all.
var keyedTables = []string{"bindings", "reads", "posts", "intents"}

// Rename moves the binding, cached read, posts and open intents of oldKey to
// newKey in one transaction. It returns ErrAlreadyBound when newKey is bound,
// ErrIntentOpen when newKey has an open intent, and ErrNotFound when the
// state holds nothing about oldKey. A stale cached read of newKey is dropped;
// one of the group being moved and no older than oldKey's (the plan that
// made the rename read it under newKey) is kept instead of oldKey's.
func (s *Store) Rename(ctx context.Context, oldKey, newKey string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if oldKey == newKey || newKey == "" {
			return fmt.Errorf("bad new key %q", newKey)
		}
		if err := checkRenameTarget(ctx, tx, newKey); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reads WHERE key = ?2 AND NOT (
			group_id IS NOT DISTINCT FROM (SELECT group_id FROM bindings WHERE key = ?1)
			AND read_at >= COALESCE((SELECT read_at FROM reads WHERE key = ?1), ''))`, oldKey, newKey); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM reads WHERE key = ?1 AND EXISTS (SELECT 1 FROM reads WHERE key = ?2)", oldKey, newKey); err != nil {
			return err
		}
		// A post of the same content already recorded under newKey is
		// kept once. (newKey has no binding and no intent, and its read
		// was dropped above: only posts can collide.)
		if _, err := tx.ExecContext(ctx, `DELETE FROM posts WHERE key = ?2 AND EXISTS (
			SELECT 1 FROM posts o WHERE o.key = ?1 AND o.kind = posts.kind AND o.hash = posts.hash)`, oldKey, newKey); err != nil {
			return err
		}
		var moved int64
		for _, table := range keyedTables {
			res, err := tx.ExecContext(ctx, "UPDATE "+table+" SET key = ? WHERE key = ?", newKey, oldKey)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			moved += n
		}
		if moved == 0 {
			return fmt.Errorf("%s: %w", oldKey, ErrNotFound)
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("rename %s to %s: %w", oldKey, newKey, err)
	}
	return nil
}

// checkRenameTarget refuses to rename onto a key that is bound or has an
// open intent.
func checkRenameTarget(ctx context.Context, tx *sql.Tx, newKey string) error {
	var bound, open int
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM bindings WHERE key = ?1),
		(SELECT count(*) FROM intents WHERE key = ?1)`, newKey).Scan(&bound, &open)
	switch {
	case err != nil:
		return err
	case bound > 0:
		return fmt.Errorf("%s: %w", newKey, ErrAlreadyBound)
	case open > 0:
		return fmt.Errorf("%s: %w", newKey, ErrIntentOpen)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanBinding(r scanner) (Binding, error) {
	var b Binding
	var origin string
	var at sql.NullString
	if err := r.Scan(&b.Key, &b.Provider, &b.GroupID, &origin, &at, &b.Name); err != nil {
		return Binding{}, err
	}
	b.Origin = Origin(origin)
	t, err := parseTime(at)
	b.BoundAt = t
	return b, err
}

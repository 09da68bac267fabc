package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PostKind is the kind of content posted to a group.
type PostKind string

// Kinds of post.
const (
	PostNotice PostKind = "notice"
	PostBanner PostKind = "banner"
)

// Post records a notice or banner posted to a group, by content hash, so
// that each distinct content is posted once.
type Post struct {
	Key      string
	Kind     PostKind
	Hash     string // content hash
	VendorID string // the vendor's notice or banner id
	PostedAt time.Time
}

// IntentKind is the kind of vendor call an intent announces.
type IntentKind string

// Kinds of intent.
const (
	IntentCreate IntentKind = "create"
	IntentNotice IntentKind = "notice"
	IntentBanner IntentKind = "banner"
)

func (k IntentKind) valid() bool {
	return k == IntentCreate || k == IntentNotice || k == IntentBanner
}

// Intent is a journal entry: a create or post about to be sent. It is
// committed before the call and closed after it; one left open means the
// call's outcome is unknown, and the group must not be written until it is
// resolved.
type Intent struct {
	ID        int64
	Key       string
	Provider  string
	Kind      IntentKind
	Name      string // group name (create) or notice title
	Hash      string // content hash for posts, "" for create
	GroupID   string // target group for posts; for a create, the id groupsync chose (a vendor with Capabilities.ChosenID), else ""
	StartedAt time.Time
	// AttemptedAt is when the last attempt of the call ended with an
	// unknown outcome (zero when only StartedAt is known, as after a crash).
	AttemptedAt time.Time
	// For a create: the group type sent, and a member whose group list can
	// find the group when the answer is lost (Lunkr groups/list).
	Type   string
	Member string
}

// LastAttempt is the latest moment the intent's call is known to have been
// in flight: a vendor may still act on it for a while after.
func (in Intent) LastAttempt() time.Time {
	if in.AttemptedAt.After(in.StartedAt) {
		return in.AttemptedAt
	}
	return in.StartedAt
}

// BeginIntent records in durably and returns its id. It returns
// ErrIntentOpen when an intent for the same key, kind and hash is open, and
// ErrAlreadyBound for a create of a key that is bound: a group is never
// created twice.
func (s *Store) BeginIntent(ctx context.Context, in Intent) (int64, error) {
	var id int64
	err := s.groupTx(ctx, func(tx *sql.Tx) error {
		if err := checkIntent(ctx, tx, in); err != nil {
			return err
		}
		err := queryRowIn(ctx, tx, sqlInsertIntent,
			in.Key, in.Provider, string(in.Kind), in.Name, in.Hash, in.GroupID, formatTime(orNow(in.StartedAt)), in.Type, in.Member).Scan(&id)
		if err != nil {
			return err
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("record %s intent for %s: %w", in.Kind, in.Key, err)
	}
	return id, nil
}

// checkIntent validates in against itself and the state, inside tx.
func checkIntent(ctx context.Context, tx *sql.Tx, in Intent) error {
	switch {
	case in.Key == "":
		return errors.New("empty key")
	case in.Provider == "":
		return errors.New("empty provider")
	case !in.Kind.valid():
		return fmt.Errorf("unknown intent kind %q", in.Kind)
	case in.Kind == IntentCreate && in.Hash != "":
		return errors.New("a create intent has no content hash")
	case in.Kind != IntentCreate && (in.Hash == "" || in.GroupID == ""):
		return errors.New("a post intent needs a content hash and a group id")
	}
	var open, bound int
	err := queryRowIn(ctx, tx, sqlCheckIntent,
		in.Key, string(in.Kind), in.Hash).Scan(&open, &bound)
	switch {
	case err != nil:
		return err
	case open > 0:
		return ErrIntentOpen
	case in.Kind == IntentCreate && bound > 0:
		return ErrAlreadyBound
	}
	return nil
}

// CompleteCreate closes create intent id and binds its key, in one
// transaction. Empty Key and Provider in b are taken from the intent, an
// empty Origin is OriginCreated.
func (s *Store) CompleteCreate(ctx context.Context, id int64, b Binding) error {
	err := s.groupTx(ctx, func(tx *sql.Tx) error {
		in, err := intentByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if in.Kind != IntentCreate {
			return fmt.Errorf("%s: intent %d is a %s, not a create", in.Key, id, in.Kind)
		}
		if b, err = fillBinding(b, in); err != nil {
			return err
		}
		if err := deleteIntent(ctx, tx, id); err != nil {
			return err
		}
		return bind(ctx, tx, b)
	})
	if err != nil {
		return fmt.Errorf("complete create intent %d: %w", id, err)
	}
	return nil
}

func fillBinding(b Binding, in Intent) (Binding, error) {
	if b.Key == "" {
		b.Key = in.Key
	}
	if b.Provider == "" {
		b.Provider = in.Provider
	}
	if b.Origin == "" {
		b.Origin = OriginCreated
	}
	if b.Name == "" {
		b.Name = in.Name // the name the create sent
	}
	if b.Key != in.Key || b.Provider != in.Provider {
		return b, fmt.Errorf("%s: intent %d is for %s on %s, not %s on %s",
			in.Key, in.ID, in.Key, in.Provider, b.Key, b.Provider)
	}
	return b, nil
}

// CompletePost closes post intent id and records p, in one transaction.
// Empty Key, Kind and Hash in p are taken from the intent.
func (s *Store) CompletePost(ctx context.Context, id int64, p Post) error {
	err := s.groupTx(ctx, func(tx *sql.Tx) error {
		in, err := intentByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if p, err = fillPost(p, in); err != nil {
			return err
		}
		if err := deleteIntent(ctx, tx, id); err != nil {
			return err
		}
		_, err = execIn(ctx, tx, sqlInsertPost,
			p.Key, string(p.Kind), p.Hash, p.VendorID, formatTime(orNow(p.PostedAt)))
		if err != nil {
			return fmt.Errorf("%s: %w", p.Key, err)
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("complete post intent %d: %w", id, err)
	}
	return nil
}

func fillPost(p Post, in Intent) (Post, error) {
	if in.Kind == IntentCreate {
		return p, fmt.Errorf("%s: intent %d is a create, not a post", in.Key, in.ID)
	}
	if p.Key == "" {
		p.Key = in.Key
	}
	if p.Kind == "" {
		p.Kind = PostKind(in.Kind)
	}
	if p.Hash == "" {
		p.Hash = in.Hash
	}
	if p.Key != in.Key || string(p.Kind) != string(in.Kind) || p.Hash != in.Hash {
		return p, fmt.Errorf("%s: intent %d is a %s of %s, not a %s of %s",
			in.Key, in.ID, in.Kind, in.Hash, p.Kind, p.Hash)
	}
	return p, nil
}

// AbandonIntent deletes intent id: the call it announced provably was not
// made (the vendor refused it before acting, or it was never sent).
func (s *Store) AbandonIntent(ctx context.Context, id int64) error {
	err := s.groupTx(ctx, func(tx *sql.Tx) error {
		if err := deleteIntent(ctx, tx, id); err != nil {
			return err
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("abandon intent %d: %w", id, err)
	}
	return nil
}

// NoteAttempt records that the call of open intent id ended at at with an
// unknown outcome, so that its settling is counted from then, not from when
// the intent was begun: the call may have been sent (or retried) late.
func (s *Store) NoteAttempt(ctx context.Context, id int64, at time.Time) error {
	err := s.groupTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE intents SET attempted_at = ? WHERE id = ?", formatTime(orNow(at)), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("intent %d: %w", id, ErrNotFound)
		}
		return bumpSerial(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("record the attempt of intent %d: %w", id, err)
	}
	return nil
}

// OpenIntents returns the open intents ordered by id.
func (s *Store) OpenIntents(ctx context.Context) ([]Intent, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+intentColumns+" FROM intents ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("read open intents: %w", err)
	}
	var out []Intent
	for rows.Next() {
		in, err := scanIntent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read open intents: %w", err)
		}
		out = append(out, in)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read open intents: %w", err)
	}
	return out, nil
}

// Posts returns the recorded posts by group key, each key's in the order
// they were posted.
func (s *Store) Posts(ctx context.Context) (map[string][]Post, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT key, kind, hash, vendor_id, posted_at FROM posts ORDER BY key, posted_at, kind, hash")
	if err != nil {
		return nil, fmt.Errorf("read posts: %w", err)
	}
	out := map[string][]Post{}
	for rows.Next() {
		var p Post
		var kind string
		var at sql.NullString
		if err := rows.Scan(&p.Key, &kind, &p.Hash, &p.VendorID, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read posts: %w", err)
		}
		p.Kind = PostKind(kind)
		if p.PostedAt, err = parseTime(at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read posts of %s: %w", p.Key, err)
		}
		out[p.Key] = append(out[p.Key], p)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("read posts: %w", err)
	}
	return out, nil
}

const intentColumns = "id, key, provider, kind, name, hash, group_id, started_at, group_type, member, attempted_at"

func intentByID(ctx context.Context, tx *sql.Tx, id int64) (Intent, error) {
	in, err := scanIntent(queryRowIn(ctx, tx, sqlIntentByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, fmt.Errorf("intent %d: %w", id, ErrNotFound)
	}
	return in, err
}

func deleteIntent(ctx context.Context, tx *sql.Tx, id int64) error {
	res, err := execIn(ctx, tx, sqlDeleteIntent, id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("intent %d: %w", id, ErrNotFound)
	}
	return nil
}

func scanIntent(sc scanner) (Intent, error) {
	var in Intent
	var kind string
	var at, attempted sql.NullString
	err := sc.Scan(&in.ID, &in.Key, &in.Provider, &kind, &in.Name, &in.Hash, &in.GroupID, &at, &in.Type, &in.Member, &attempted)
	if err != nil {
		return in, err
	}
	in.Kind = IntentKind(kind)
	if in.StartedAt, err = parseTime(at); err != nil {
		return in, err
	}
	in.AttemptedAt, err = parseTime(attempted)
	return in, err
}

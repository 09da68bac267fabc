package state

import (
	"context"
	"fmt"
)

// The rules that close intents outside an apply, by a person's word: the
// commands say what the person found, the state decides which intents
// that closes.

// Import binds b.Key to b.GroupID on a person's word (state import). When
// the key has a create whose outcome is unknown, the binding closes that
// intent in the same transaction, so that a crash cannot leave one without
// the other.
func (s *Store) Import(ctx context.Context, b Binding) error {
	intents, err := s.OpenIntents(ctx)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.Key == b.Key && in.Kind == IntentCreate {
			return s.CompleteCreate(ctx, in.ID, b)
		}
	}
	return s.Bind(ctx, b)
}

// AmbiguousPostsError refuses one verdict for several notices or banners
// of unknown outcome when none was named: one verdict for all would be
// wrong when one was posted and another not.
type AmbiguousPostsError struct {
	Key  string
	Open []Intent
}

func (e *AmbiguousPostsError) Error() string {
	return fmt.Sprintf("%s has %d notices or banners whose outcome is unknown", e.Key, len(e.Open))
}

// ResolvePosts settles the notices and banners of key whose outcome is
// unknown as a person found them on the vendor: posted (recorded as posted
// when it was sent) or not (the intent is dropped, and the next apply posts
// it). With hash, only that content; without, the only one open, and an
// *AmbiguousPostsError when there are several. It returns how many it
// settled.
func (s *Store) ResolvePosts(ctx context.Context, key, hash string, posted bool) (int, error) {
	intents, err := s.OpenIntents(ctx)
	if err != nil {
		return 0, err
	}
	var open []Intent
	for _, in := range intents {
		if in.Key == key && in.Kind != IntentCreate && (hash == "" || in.Hash == hash) {
			open = append(open, in)
		}
	}
	if hash == "" && len(open) > 1 {
		return 0, &AmbiguousPostsError{Key: key, Open: open}
	}
	for _, in := range open {
		if posted {
			kind := PostNotice
			if in.Kind == IntentBanner {
				kind = PostBanner
			}
			err = s.CompletePost(ctx, in.ID, Post{Key: key, Kind: kind, Hash: in.Hash, PostedAt: in.StartedAt})
		} else {
			err = s.AbandonIntent(ctx, in.ID)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(open), nil
}

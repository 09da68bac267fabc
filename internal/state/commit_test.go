package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestGroupTxFailsAlone queues writes behind a held batch so that they
// share the next one, one of them failing: the others are committed, the
// failed one leaves nothing, and each caller gets its own outcome.
func TestGroupTxFailsAlone(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := s.groupTx(ctx, func(tx *sql.Tx) error {
			close(held)
			<-hold
			return bind(ctx, tx, Binding{Key: "first", Provider: "kingdee", GroupID: "g-first", Origin: OriginCreated})
		})
		if err != nil {
			t.Error(err)
		}
	})
	<-held
	boom := errors.New("boom")
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			errs[i] = s.groupTx(ctx, func(tx *sql.Tx) error {
				if err := bind(ctx, tx, Binding{Key: fmt.Sprint("k", i), Provider: "kingdee", GroupID: fmt.Sprint("g", i), Origin: OriginCreated}); err != nil {
					return err
				}
				if i == 2 {
					return boom // after a write: the savepoint must undo it
				}
				return nil
			})
		})
	}
	waitQueued(t, s, len(errs))
	close(hold)
	wg.Wait()

	bindings, err := s.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		_, bound := bindings[fmt.Sprint("k", i)]
		switch {
		case i == 2 && (!errors.Is(err, boom) || bound):
			t.Errorf("failing write: err %v, bound %v; want boom and no binding", err, bound)
		case i != 2 && (err != nil || !bound):
			t.Errorf("write %d: err %v, bound %v; want it committed", i, err, bound)
		}
	}
	if _, ok := bindings["first"]; !ok {
		t.Error("the held write is not committed")
	}
	if got := mustSerial(t, s); got != 5 {
		t.Errorf("serial = %d, want 5 (one per committed write)", got)
	}
}

// TestGroupTxRunsAgainAfterAFailure: a batch runs its writes without
// savepoints and, when one fails, runs them again each in a savepoint; a
// write that shares the failing batch (here cached reads, more than one
// statement's worth) is done once and whole.
func TestGroupTxRunsAgainAfterAFailure(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.groupTx(ctx, func(tx *sql.Tx) error { close(held); <-hold; return nil }); err != nil {
			t.Error(err)
		}
	})
	<-held
	reads := make([]Read, readsPerStatement+7)
	for i := range reads {
		reads[i] = testRead(i, 3)
	}
	boom := errors.New("boom")
	var saveErr, failErr error
	var runs int
	wg.Go(func() { saveErr = s.SaveReads(ctx, reads) })
	waitQueued(t, s, 1)
	wg.Go(func() {
		failErr = s.groupTx(ctx, func(tx *sql.Tx) error {
			runs++
			if err := bind(ctx, tx, Binding{Key: "doomed", Provider: "kingdee", GroupID: "g-doomed", Origin: OriginCreated}); err != nil {
				return err
			}
			return boom
		})
	})
	waitQueued(t, s, 2)
	close(hold)
	wg.Wait()
	if saveErr != nil || !errors.Is(failErr, boom) {
		t.Fatalf("SaveReads: %v; failing write: %v, want boom", saveErr, failErr)
	}
	if runs != 2 {
		t.Errorf("the failing write ran %d times, want 2 (without, then with its savepoint)", runs)
	}
	keys := make([]string, len(reads))
	for i, r := range reads {
		keys[i] = r.Key
	}
	cached, err := s.CachedReads(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cached) != len(reads) {
		t.Errorf("%d reads cached, want %d", len(cached), len(reads))
	}
	if bindings, err := s.Bindings(ctx); err != nil || len(bindings) != 0 {
		t.Errorf("bindings %v (%v): want none, the failed write undone", bindings, err)
	}
}

// waitQueued waits until n callers are queued behind the running batch.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.commits.mu.Lock()
		queued := len(s.commits.queue)
		s.commits.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupTxConcurrentJournal journals many creates at once, some of them
// refused, and checks that a fresh open of the file sees exactly the
// completed ones.
func TestGroupTxConcurrentJournal(t *testing.T) {
	path := newLocation(t)
	s := openStore(t, path)
	ctx := context.Background()
	const workers, perWorker = 32, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				key := fmt.Sprintf("w%02d-%02d", w, i)
				id, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "kingdee", Kind: IntentCreate, Name: key})
				if err != nil {
					t.Error(err)
					return
				}
				// A second create of the same key is refused, alone.
				if _, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "kingdee", Kind: IntentCreate, Name: key}); !errors.Is(err, ErrIntentOpen) {
					t.Errorf("%s: second intent: %v, want ErrIntentOpen", key, err)
				}
				if err := s.CompleteCreate(ctx, id, Binding{GroupID: "g-" + key}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	other := openStore(t, path)
	bindings, err := other.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bindings) != workers*perWorker {
		t.Errorf("%d bindings, want %d", len(bindings), workers*perWorker)
	}
	open, err := other.OpenIntents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Errorf("%d intents left open, want none", len(open))
	}
	if got, want := mustSerial(t, other), int64(2*workers*perWorker); got != want {
		t.Errorf("serial = %d, want %d", got, want)
	}
}

// TestGroupTxCancelled: a caller whose context is done before its turn
// gets the context's error and writes nothing.
func TestGroupTxCancelled(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Bind(ctx, Binding{Key: "k", Provider: "kingdee", GroupID: "g", Origin: OriginCreated})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Bind with a cancelled context: %v, want context.Canceled", err)
	}
	if _, ok, _ := s.Binding(context.Background(), "k"); ok {
		t.Error("a cancelled Bind wrote")
	}
}

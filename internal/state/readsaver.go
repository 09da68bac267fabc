package state

import (
	"context"
	"sync"
)

// ReadSaver caches reads as they come, in batches of a few hundred, each
// saved by SaveReads in one transaction on a goroutine of its own: a plan
// hands over each group's read once planned and keeps none, and the saving
// overlaps the reading. Add and Close must not be called concurrently.
type ReadSaver struct {
	store *Store
	size  int
	batch []Read
	queue chan []Read
	done  chan struct{}
	mu    sync.Mutex
	err   error // the first failed save; later batches are dropped
}

// NewReadSaver starts a saver of batches of size reads (500 when size < 1).
func (s *Store) NewReadSaver(ctx context.Context, size int) *ReadSaver {
	if size < 1 {
		size = 500
	}
	w := &ReadSaver{store: s, size: size, queue: make(chan []Read, 1), done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// run saves the queued batches until Close; ctx is the plan's, whose
// lifetime covers the saver's.
func (w *ReadSaver) run(ctx context.Context) {
	defer close(w.done)
	for batch := range w.queue {
		if w.failed() != nil {
			continue
		}
		if err := w.store.SaveReads(ctx, batch); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

func (w *ReadSaver) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Add queues r; a full batch is handed to the saving goroutine, waiting
// while it is still busy with two earlier ones.
func (w *ReadSaver) Add(r Read) {
	if w.batch == nil {
		w.batch = make([]Read, 0, w.size)
	}
	w.batch = append(w.batch, r)
	if len(w.batch) == w.size {
		w.queue <- w.batch
		w.batch = nil
	}
}

// Close saves what is queued, waits for every save, and returns the first
// error.
func (w *ReadSaver) Close() error {
	if len(w.batch) > 0 {
		w.queue <- w.batch
		w.batch = nil
	}
	close(w.queue)
	<-w.done
	return w.failed()
}

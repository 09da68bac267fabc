package converge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/state"
)

// The apply's cache writer saves the reads of at least cacheMinBatch
// groups in one transaction (fewer only when the apply ended), so that it
// does not add a commit per group or two to the journal's, and at most
// cacheBatch: that bounds the memory their reads take and how long the
// journal's commits, which share the writer's transactions, wait for one.
const (
	cacheMinBatch = 64
	cacheBatch    = 256
)

// appliedCache records in the cached reads what the apply did, as it goes,
// so that a plan from the cache afterwards starts from it: each group's
// result is queued as its apply ends, and one goroutine takes what is
// queued, once there is enough of it and up to cacheBatch groups at a time,
// loads their cached reads, brings them up to date (reconcile.AppliedRead)
// and saves them. When the apply ends, only what is still queued is left
// to save. A group is queued
// only once its apply ended (its journal committed), so a crash leaves the
// cached reads of the groups saved so far right, and claims nothing that
// was not done.
//
// Failing to cache is only logged, once, when the apply ends: the next
// refreshing plan reads the groups anyway.
type appliedCache struct {
	store  *state.Store
	groups map[string]*reconcile.GroupPlan // the plan's groups by key
	now    func() time.Time
	log    *slog.Logger
	saved  func(keys []string) // called after each batch is saved; for tests

	mu     sync.Mutex
	more   sync.Cond // signalled when a result is queued or the apply ends
	queue  []reconcile.GroupResult
	closed bool
	done   chan struct{}

	// Set by the writer, read once done is closed.
	failed int   // groups whose reads could not be cached
	err    error // the first failure
}

// startAppliedCache starts the writer of p's applied reads. Its writes run
// on ctx without its cancellation: what an interrupted apply did is cached
// too.
func startAppliedCache(ctx context.Context, store *state.Store, p *reconcile.Plan, now func() time.Time, log *slog.Logger, saved func([]string)) *appliedCache {
	c := &appliedCache{store: store, groups: make(map[string]*reconcile.GroupPlan, len(p.Groups)),
		now: now, log: log, saved: saved, done: make(chan struct{})}
	for i := range p.Groups {
		c.groups[p.Groups[i].Key] = &p.Groups[i]
	}
	c.more.L = &c.mu
	go c.run(context.WithoutCancel(ctx))
	return c
}

// add queues a group's result, if its apply changed what its read shows.
// It is called on the apply's goroutines and never waits for a save.
func (c *appliedCache) add(r reconcile.GroupResult) {
	if !reconcile.CachesRead(r) {
		return
	}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	enough := len(c.queue) >= cacheMinBatch
	c.mu.Unlock()
	if enough {
		c.more.Signal()
	}
}

// close saves what is still queued, waits for the writer, and logs the
// failure to cache, if any.
func (c *appliedCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.more.Signal()
	<-c.done
	if c.err != nil {
		c.log.Warn("could not cache what the apply did", "groups", c.failed, "error", c.err.Error())
	}
}

// run saves batches until the apply ended and nothing is queued.
func (c *appliedCache) run(ctx context.Context) {
	defer close(c.done)
	for {
		batch, last := c.take()
		if len(batch) > 0 {
			if err := c.write(ctx, batch); err != nil {
				c.failed += len(batch)
				if c.err == nil {
					c.err = err
				}
			}
		}
		if last {
			return
		}
	}
}

// take waits for cacheMinBatch results, or the end of the apply, and
// takes up to cacheBatch of them; last is set when the apply ended and
// nothing else is queued.
func (c *appliedCache) take() (batch []reconcile.GroupResult, last bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) < cacheMinBatch && !c.closed {
		c.more.Wait()
	}
	n := min(len(c.queue), cacheBatch)
	batch = c.queue[:n:n]
	if c.queue = c.queue[n:]; len(c.queue) == 0 {
		c.queue = nil // the next results start a new array; batch keeps this one
	}
	return batch, c.closed && len(c.queue) == 0
}

// write caches one batch's reads: only the cached reads of the groups that
// were changed, not created, are loaded.
func (c *appliedCache) write(ctx context.Context, batch []reconcile.GroupResult) error {
	var keys []string
	for _, r := range batch {
		if reconcile.NeedsCachedRead(r) {
			keys = append(keys, r.Key)
		}
	}
	var cached map[string]state.Read
	if len(keys) > 0 {
		var err error
		if cached, err = c.store.CachedReads(ctx, keys); err != nil {
			return err
		}
	}
	now := c.now()
	reads := make([]state.Read, 0, len(batch))
	for _, r := range batch {
		if g := c.groups[r.Key]; g != nil {
			if read, ok := reconcile.AppliedRead(g, r, cached, now); ok {
				reads = append(reads, read)
			}
		}
	}
	if err := c.store.SaveReads(ctx, reads); err != nil {
		return err
	}
	if c.saved != nil {
		done := make([]string, len(reads))
		for i, r := range reads {
			done[i] = r.Key
		}
		c.saved(done)
	}
	return nil
}

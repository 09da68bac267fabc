package state

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkJournalPosts journals posts as apply does with 32 calls in
// flight: an intent committed before each call, closed after it. An op is
// one post's two commits.
func BenchmarkJournalPosts(b *testing.B) {
	s := newStore(b)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	cpu := cpuTime()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			for range work {
				i := next.Add(1)
				key := fmt.Sprintf("team-%06d", i)
				id, err := s.BeginIntent(ctx, Intent{Key: key, Provider: "kingdee", Kind: IntentNotice, Name: "Welcome", Hash: "h", GroupID: "5f0000000000000000000001"})
				if err != nil {
					b.Error(err)
					return
				}
				if err := s.CompletePost(ctx, id, Post{VendorID: "n1"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	// The CPU an op costs: less noisy than its time, which is mostly fsync.
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

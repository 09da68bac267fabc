package reconcile

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// slowJournal is a Journal whose writes take a while, as an fsync does.
type slowJournal struct {
	mu   sync.Mutex
	next int64
}

func (j *slowJournal) wait() { time.Sleep(2 * time.Millisecond) }

func (j *slowJournal) Bind(context.Context, state.Binding) error { j.wait(); return nil }
func (j *slowJournal) Binding(context.Context, string) (state.Binding, bool, error) {
	return state.Binding{}, false, nil
}
func (j *slowJournal) Rename(context.Context, string, string) error { j.wait(); return nil }
func (j *slowJournal) BeginIntent(context.Context, state.Intent) (int64, error) {
	j.wait()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.next++
	return j.next, nil
}
func (j *slowJournal) CompleteCreate(context.Context, int64, state.Binding) error {
	j.wait()
	return nil
}
func (j *slowJournal) CompletePost(context.Context, int64, state.Post) error { j.wait(); return nil }
func (j *slowJournal) AbandonIntent(context.Context, int64) error            { j.wait(); return nil }
func (j *slowJournal) NoteAttempt(context.Context, int64, time.Time) error   { j.wait(); return nil }

// countingClient counts the write calls in flight.
type countingClient struct {
	vendors.Client
	inFlight, most, calls atomic.Int64
}

func (c *countingClient) enter() func() {
	n := c.inFlight.Add(1)
	for {
		m := c.most.Load()
		if n <= m || c.most.CompareAndSwap(m, n) {
			break
		}
	}
	c.calls.Add(1)
	time.Sleep(5 * time.Millisecond)
	return func() { c.inFlight.Add(-1) }
}

func (c *countingClient) CreateGroup(context.Context, vendors.CreateRequest) (string, error) {
	defer c.enter()()
	return fmt.Sprint("g", c.calls.Load()), nil
}

func (c *countingClient) AddMembers(context.Context, string, string, []string) error {
	defer c.enter()()
	return nil
}

func (c *countingClient) PostNotice(context.Context, string, string, vendors.Notice) (string, error) {
	defer c.enter()()
	return "n", nil
}

// TestApplyBoundsCallsInFlight: however many groups are worked on at once,
// no more than Parallelism vendor calls are in flight.
func TestApplyBoundsCallsInFlight(t *testing.T) {
	p := &Plan{}
	for i := range 60 {
		g := GroupPlan{Key: fmt.Sprint("k", i), Provider: "kingdee", Operator: "op"}
		switch i % 3 {
		case 0:
			g.Create = &CreateStep{Members: []Member{{ID: "a"}}}
			g.Notices = []PostStep{{Hash: "h", Notice: &Notice{Title: "t", Content: "c"}}}
		case 1:
			g.GroupID, g.Add = "id", []Member{{ID: "b"}}
		default:
			g.GroupID, g.Notices = "id", []PostStep{{Hash: "h", Notice: &Notice{Title: "t", Content: "c"}}}
		}
		p.Groups = append(p.Groups, g)
	}
	for _, parallelism := range []int{0, 1, 4} {
		c := &countingClient{}
		a := &Applier{Clients: map[string]vendors.Client{"kingdee": c}, Journal: &slowJournal{}, Parallelism: parallelism}
		res := a.Apply(context.Background(), p)
		if res.Failed != 0 || res.Created != 20 || res.Added != 20 || res.Notices != 40 {
			t.Errorf("parallelism %d: %+v, want 20 created, 20 added, 40 notices and no failure", parallelism, res)
		}
		if most := c.most.Load(); most > int64(max(1, parallelism)) {
			t.Errorf("parallelism %d: %d calls in flight at once", parallelism, most)
		}
	}
}

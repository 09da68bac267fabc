package reconcile

import (
	"context"
	"testing"
	"time"

	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

// atDeadlineClient answers a create only once the run's deadline has
// passed, as a vendor whose answer lands at the deadline; it records the
// deadline its call was given.
type atDeadlineClient struct {
	vendors.Client
	run      context.Context
	deadline time.Time
	had      bool
}

func (c *atDeadlineClient) CreateGroup(ctx context.Context, _ vendors.CreateRequest) (string, error) {
	c.deadline, c.had = ctx.Deadline()
	<-c.run.Done()
	return "g1", nil
}

// recordingJournal records the bindings completed, and fails a write whose
// context is done, as the SQLite state would.
type recordingJournal struct {
	slowJournal
	completed []int64
}

func (j *recordingJournal) CompleteCreate(ctx context.Context, id int64, _ state.Binding) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j.completed = append(j.completed, id)
	return nil
}

// Apply gives its vendor calls the run's deadline (they run on a context an
// interrupt does not cancel, which would drop it), but never its journal
// writes: a create answered as the deadline passes is still recorded.
func TestApplyCallsKeepTheDeadlineJournalDoesNot(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	dl, _ := ctx.Deadline()
	client := &atDeadlineClient{run: ctx}
	j := &recordingJournal{}
	p := &Plan{Groups: []GroupPlan{{Key: "g", Provider: "p", Action: ActionCreate, GroupID: Placeholder,
		Create: &CreateStep{Name: "g"}}}}
	a := &Applier{Clients: map[string]vendors.Client{"p": client}, Journal: j, Parallelism: 1}
	res := a.Apply(ctx, p)
	if !client.had || !client.deadline.Equal(dl) {
		t.Errorf("the create's deadline = %v (set %v), want the run's %v", client.deadline, client.had, dl)
	}
	if len(res.Groups) != 1 || res.Groups[0].Err != nil || !res.Groups[0].Created {
		t.Fatalf("result = %+v, want the group created", res.Groups)
	}
	if len(j.completed) != 1 {
		t.Errorf("completed creates = %v, want the one answered at the deadline recorded", j.completed)
	}
}

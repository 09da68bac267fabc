package reconcile

import (
	"context"
	"time"

	"groupsync/internal/vendors"
)

// deadlined gives every vendor call the deadline of the run's context:
// Apply makes its calls on a context that an interrupt does not cancel (the
// call in flight finishes and is recorded), which would otherwise drop the
// run's deadline too. Journal writes keep no deadline: what was done is
// always recorded.
type deadlined struct {
	vendors.Client
	deadline time.Time // the run's
}

// boundBy returns c with run's deadline on every call, or c when run has none.
func boundBy(c vendors.Client, run context.Context) vendors.Client {
	if c == nil {
		return nil
	}
	dl, ok := run.Deadline()
	if !ok {
		return c
	}
	return deadlined{c, dl}
}

func (d deadlined) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, d.deadline)
}

func (d deadlined) ReadGroup(ctx context.Context, groupID, operator string) (*vendors.Group, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.ReadGroup(ctx, groupID, operator)
}

func (d deadlined) CreateGroup(ctx context.Context, req vendors.CreateRequest) (string, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.CreateGroup(ctx, req)
}

func (d deadlined) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.AddMembers(ctx, groupID, operator, ids)
}

func (d deadlined) PostNotice(ctx context.Context, groupID, operator string, n vendors.Notice) (string, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.PostNotice(ctx, groupID, operator, n)
}

func (d deadlined) PostBanner(ctx context.Context, groupID, operator string, b vendors.Banner) (string, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.PostBanner(ctx, groupID, operator, b)
}

func (d deadlined) ListGroups(ctx context.Context, userID string) ([]vendors.GroupRef, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.Client.ListGroups(ctx, userID)
}

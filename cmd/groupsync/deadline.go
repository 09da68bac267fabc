package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"groupsync/internal/converge"
)

// defaultRunTimeout bounds a plan, an apply or a scheduled run: a vendor
// that never answers must not hold a run (and the state lock) for ever.
const defaultRunTimeout = 30 * time.Minute

// addRunTimeout registers --run-timeout, shared by plan, apply and run.
func addRunTimeout(fs *flag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "run-timeout", defaultRunTimeout, "a plan, an apply or each scheduled run ends within this `duration`, vendor calls and retries included")
}

func checkRunTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("--run-timeout: must be positive, got %s", d)
	}
	return nil
}

// deadlineError says that what ran on ctx passed its --run-timeout (see
// converge.DeadlineError).
func deadlineError(ctx context.Context, what string, d time.Duration, err error) error {
	return converge.DeadlineError(ctx, what, d, err)
}

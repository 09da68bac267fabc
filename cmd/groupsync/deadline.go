package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"
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

// deadlineError says that what ran on ctx passed its --run-timeout, wrapping
// the error it ended with (unless already reported); nil when it did not.
func deadlineError(ctx context.Context, what string, d time.Duration, err error) error {
	// The clock as well as ctx.Err: a call's own copy of the deadline may
	// fire before ctx's timer has marked ctx done.
	// A run that ended well is not failed for ending at its deadline.
	dl, ok := ctx.Deadline()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) && (err == nil || !ok || time.Now().Before(dl)) {
		return nil
	}
	msg := fmt.Sprintf("%s passed its deadline (--run-timeout %s)", what, d)
	if err != nil && !errors.Is(err, errReported) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	return fmt.Errorf("%s; what was not done by then was left undone\nhint: a vendor may be slow or not answering; raise --run-timeout if a run needs longer", msg)
}

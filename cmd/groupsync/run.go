package main

import "context"

func (a *app) runScheduled(ctx context.Context, args []string) error {
	return notImplemented("groupsync run", "#6")
}

package main

import "context"

func (a *app) history(ctx context.Context, args []string) error {
	return notImplemented("groupsync history", "#6")
}

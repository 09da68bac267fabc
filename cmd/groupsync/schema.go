package main

import (
	"context"
	"errors"

	"groupsync/internal/spec"
)

// schema prints the manifest's JSON Schema, for editors and CI; the
// repository keeps a copy in schema/groups.schema.json.
func (a *app) schema(_ context.Context, args []string) error {
	fs := a.newFlagSet("schema", "schema", "groupsync schema > groups.schema.json")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return errors.New("schema takes no arguments\nhint: groupsync schema > groups.schema.json")
	}
	data, err := spec.Schema()
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(data)
	return err
}

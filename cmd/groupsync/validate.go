package main

import (
	"context"
	"errors"
	"fmt"

	"groupsync/internal/spec"
)

func (a *app) validate(ctx context.Context, args []string) error {
	fs := a.newFlagSet("validate", "validate -f PATH... [--format text|github]", "groupsync validate -f examples/groups.yaml")
	var files stringList
	var format string
	fs.Var(&files, "f", "manifest `file or directory` (repeatable)")
	fs.StringVar(&format, "format", "text", "error format: text (file:line:col: message) or github (GitHub Actions annotations on stdout)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	if format != "text" && format != "github" {
		return fmt.Errorf("--format: %q is not text or github", format)
	}
	if format == "github" {
		if err := a.annotate(files); err != nil {
			return err
		}
	}
	m, err := a.load(files)
	if err != nil {
		return err
	}
	people := fmt.Sprintf("%d people", len(m.People))
	if len(m.People) == 1 {
		people = "1 person"
	}
	fmt.Fprintf(a.stdout, "%s: %s, %s, %s: valid\n",
		plural(len(m.Files), "manifest file"), plural(len(m.Providers), "provider"), people, plural(len(m.Groups), "group"))
	return nil
}

// loadManifest and finishLoad are spec.Load and (*spec.Heads).Load, the
// whole loads of a manifest; tests count them.
var (
	loadManifest = spec.Load
	finishLoad   = (*spec.Heads).Load
)

// load reads and validates the manifests, printing every error as
// file:line:col: message.
func (a *app) load(files []string) (*spec.Manifest, error) {
	if len(files) == 0 {
		return nil, errors.New("no manifest given\nhint: name one with -f FILE or -f DIR")
	}
	return a.checked(loadManifest(files...))
}

// checked is a load's answer, its errors printed as load prints them.
func (a *app) checked(m *spec.Manifest, err error) (*spec.Manifest, error) {
	if err != nil {
		var list spec.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(a.stderr, e.Error())
			}
			fmt.Fprintf(a.stderr, "groupsync: %s in the manifest; nothing was called or written\n", plural(len(list), "error"))
			return nil, errReported
		}
		return nil, err
	}
	return m, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

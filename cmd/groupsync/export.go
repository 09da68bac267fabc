package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"groupsync/internal/export"
	"groupsync/internal/printable"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

// export writes a manifest of a provider's live groups (SPEC section 7.3).
// It reads only: no vendor write, no state write.
func (a *app) export(ctx context.Context, args []string) error {
	fs := a.newFlagSet("export", "export -f PATH... --provider NAME [--member ID]... [--group-id ID]... [--from-state] [--skip-managed] [--with-providers] [-o FILE]",
		"groupsync export --sandbox -f examples/groups.yaml --provider coremail --member alice@example.com")
	var (
		c             commonFlags
		files         stringList
		members       stringList
		groupIDs      stringList
		provider      string
		fromState     bool
		skipManaged   bool
		withProviders bool
		out           string
		timeout       time.Duration
	)
	a.addCommon(fs, &c)
	fs.Var(&files, "f", "manifest `file or directory` defining the provider (repeatable)")
	fs.StringVar(&provider, "provider", "", "the `provider` whose groups to export, as the -f manifests name it")
	fs.Var(&members, "member", "a user (`id` or people handle) whose groups to export, where the vendor lists a user's groups (repeatable)")
	fs.Var(&groupIDs, "group-id", "a group `id` to export (repeatable)")
	fs.BoolVar(&fromState, "from-state", false, "export every group of the provider bound in the state")
	fs.BoolVar(&skipManaged, "skip-managed", false, "leave out groups the -f manifests already manage (pinned, or bound in the state)")
	fs.BoolVar(&withProviders, "with-providers", false, "write the provider and the people used too, so that the file stands alone")
	fs.StringVar(&out, "o", "", "write the manifest to `file` instead of stdout")
	addRunTimeout(fs, &timeout)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	files = append(files, pos...)
	if err := c.check(); err != nil {
		return err
	}
	if err := checkRunTimeout(timeout); err != nil {
		return err
	}
	if provider == "" {
		return errors.New("export: --provider is required\nhint: name the provider whose groups to export, as defined in the -f manifests")
	}
	m, err := a.load(files)
	if err != nil {
		return err
	}
	p := m.Providers[provider]
	if p == nil {
		return fmt.Errorf("export: unknown provider %q: the -f manifests define %s", provider, providerList(m))
	}
	log, err := a.logger(c.logFormat)
	if err != nil {
		return err
	}
	// Only the exported provider is connected: another provider's missing
	// token must not stop the export.
	one := &spec.Manifest{Providers: map[string]*spec.Provider{provider: p}, People: m.People}
	for _, g := range m.Groups {
		if g.Provider == provider {
			one.Groups = append(one.Groups, g)
		}
	}
	if err := a.checkTokens(one, &c); err != nil {
		return err
	}
	bindings, err := readBindings(ctx, &c, fromState)
	if err != nil {
		return err
	}
	conns, err := a.connect(one, &c, log, nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	o := export.Options{
		Manifest: m, Provider: provider, Members: members, GroupIDs: groupIDs, FromState: fromState,
		Bindings: bindings, SkipManaged: skipManaged, WithProviders: withProviders,
		Parallelism: c.parallelism, Now: a.now(),
	}
	progressed := false
	if a.terminal {
		// Called one at a time, and never after Export returns.
		o.Progress = func(done, total int) {
			progressed = true
			fmt.Fprintf(a.stderr, "\rExporting: %d/%d groups", done, total)
		}
	}
	res, err := export.Export(ctx, conns.clients[provider], o)
	if cerr := conns.close(); err == nil {
		err = cerr
	}
	if progressed {
		fmt.Fprintln(a.stderr)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := a.writeExport(res, out); err != nil {
		return err
	}
	if res.Managed > 0 {
		fmt.Fprintf(a.stderr, "note: %d of the exported groups are already managed in the -f manifests (pinned or bound in the state): add --skip-managed to leave them out\n", res.Managed)
	}
	if out != "" {
		fmt.Fprintf(a.stderr, "Exported %s of provider %s to %s.\n", plural(len(res.Groups), "group"), provider, out)
	}
	for _, f := range res.Failures {
		for i, line := range strings.Split(f.Error(), "\n") {
			if i == 0 {
				line = "groupsync: " + line
			}
			fmt.Fprintln(a.stderr, printable.Escape(line))
		}
	}
	if dl := deadlineError(ctx, "the export", timeout, nil); dl != nil {
		return dl
	}
	if len(res.Failures) > 0 {
		fmt.Fprintf(a.stderr, "groupsync: %s, listed at the end of the manifest too; the rest was written\n", plural(len(res.Failures), "failure"))
		return errReported
	}
	return nil
}

// readBindings returns the state's bindings without writing the state: a
// missing state file is not created, nor an empty PostgreSQL schema made
// one (nil bindings), which --from-state refuses; nor is an older state
// migrated.
func readBindings(ctx context.Context, c *commonFlags, fromState bool) (map[string]state.Binding, error) {
	loc := c.location()
	if state.FileMissing(loc) {
		if fromState {
			return nil, fmt.Errorf("export: --from-state: there is no state file %s\nhint: name the state of earlier applies with --state FILE, or the groups with --group-id", c.state)
		}
		return nil, nil
	}
	store, err := state.OpenCurrent(loc)
	switch {
	case errors.Is(err, state.ErrNotCurrent) && state.IsPostgres(loc) && !fromState:
		return nil, nil // an empty schema: no state yet
	case errors.Is(err, state.ErrNotCurrent):
		return nil, fmt.Errorf("export: the state %s is empty or of an older groupsync\nhint: export writes no state; a plan with this --state migrates it", c.state)
	case err != nil:
		return nil, err
	}
	defer store.Close()
	return store.Bindings(ctx)
}

// writeExport writes the manifest to stdout, or to file through a
// temporary file renamed into place.
func (a *app) writeExport(res *export.Result, file string) error {
	if file == "" {
		return res.Write(a.stdout)
	}
	if err := writeAtomicMode(file, 0o644, res.Write); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func providerList(m *spec.Manifest) string {
	names := make([]string, 0, len(m.Providers))
	for n := range m.Providers {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

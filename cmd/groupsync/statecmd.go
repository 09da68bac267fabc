package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"groupsync/internal/printable"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

const stateSynopsis = `state list [--format text|json] | state runs [--limit N] [--format text|json] | state show KEY | state import KEY GROUPID --provider NAME [-f PATH...] [--force] | state forget KEY [--yes] [--settle D] | state resolve KEY posted|not-posted [--hash HASH] | state unlock LOCK_ID [--yes] | state copy FROM TO [--force]`

func (a *app) stateCmd(ctx context.Context, args []string) error {
	fs := a.newFlagSet("state", stateSynopsis, "groupsync state import legacy-room 5bee7172e4b0f6bbaa32b4bf --provider kingdee")
	var (
		c        commonFlags
		provider string
		yes      bool
		hash     string
		stale    time.Duration
		files    stringList
		force    bool
		format   string
		limit    int
		settle   time.Duration
	)
	a.addCommon(fs, &c)
	fs.StringVar(&provider, "provider", "", "provider `name` of an imported group")
	fs.BoolVar(&yes, "yes", false, "forget or unlock without asking")
	fs.StringVar(&format, "format", "text", "list and runs: output format, text or json")
	fs.IntVar(&limit, "limit", 20, "runs: how many of the latest runs to show (0: all)")
	fs.StringVar(&hash, "hash", "", "resolve only the notice or banner with this content `hash` (the plan's fix names it)")
	addLockStale(fs, &stale)
	addSettle(fs, &settle)
	fs.Var(&files, "f", "manifest `file or directory` (repeatable): import checks the provider and the id against it")
	fs.BoolVar(&force, "force", false, "import: rebind a key already bound to another group; copy: replace a target state that is not empty")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.SetOutput(a.stderr)
		fs.Usage()
		return errors.New("state needs a subcommand: list, runs, show, import, forget, resolve, unlock or copy")
	}
	want := map[string]int{"list": 0, "runs": 0, "show": 1, "import": 2, "forget": 1, "resolve": 2, "unlock": 1, "copy": 2}
	n, ok := want[pos[0]]
	if !ok {
		return fmt.Errorf("state: unknown subcommand %q\nhint: %s", pos[0], stateSynopsis)
	}
	if len(pos)-1 != n {
		return fmt.Errorf("state %s takes %d arguments, got %d\nhint: %s", pos[0], n, len(pos)-1, stateSynopsis)
	}
	if pos[0] == "copy" {
		return a.stateCopy(ctx, pos[1], pos[2], force, stale)
	}
	if pos[0] == "import" {
		// Checked before the state file is opened (and maybe created).
		if provider == "" {
			return errors.New("state import needs --provider NAME (the manifest's provider of the group)")
		}
		id, err := a.checkImport(pos[1], pos[2], provider, files)
		if err != nil {
			return err
		}
		pos[2] = id
	}
	if pos[0] != "import" {
		// Only import may start a state file: a mistyped --state must not
		// quietly show an empty one.
		if state.FileMissing(c.location()) {
			return fmt.Errorf("state file %s does not exist\nhint: check --state (or GROUPSYNC_STATE); the first apply creates it", c.state)
		}
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--format: %q is not text or json", format)
	}
	store, err := state.Open(c.location())
	if err != nil {
		return err
	}
	defer store.Close()
	switch pos[0] {
	case "list":
		if format == "json" {
			return a.stateListJSON(ctx, store)
		}
		return a.stateList(ctx, store)
	case "runs":
		return a.stateRuns(ctx, store, limit, format)
	case "show":
		return a.stateShow(ctx, store, pos[1])
	case "unlock":
		return a.stateUnlock(ctx, store, &c, pos[1], yes)
	}
	if err := (lockFlags{stale: stale}).check(); err != nil {
		return err
	}
	// The rest write: they take the lock like apply.
	unlock, err := a.lock(ctx, store, "groupsync state "+pos[0], &c, lockFlags{stale: stale}, nil)
	if err != nil {
		return err
	}
	defer unlock()
	switch pos[0] {
	case "import":
		return a.stateImport(ctx, store, pos[1], pos[2], provider, files, force)
	case "forget":
		if err := a.refuseSettling(ctx, store, pos[1], settle); err != nil {
			return err
		}
		if !yes && !a.confirm(fmt.Sprintf("Forget %s? Its group is left as it is on the vendor; the next apply creates a new one unless the manifest pins an id. Type 'yes': ", pos[1])) {
			return errors.New("state forget cancelled (use --yes when not on a terminal)")
		}
		if err := store.Forget(ctx, pos[1]); errors.Is(err, state.ErrNotFound) {
			return fmt.Errorf("the state knows no group %q: nothing to forget\nhint: groupsync state list shows the keys it knows (is --state the right file?)", pos[1])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Forgot %s.\n", pos[1])
		return nil
	default:
		return a.stateResolve(ctx, store, pos[1], pos[2], hash)
	}
}

// checkImport checks an import's group id against the vendor's id rules and
// returns it in canonical form. With manifests, the provider must be one of
// theirs, the id must be a group id of its vendor, and a key the manifests
// name must be of that provider; without, the id must be a group id of some
// vendor.
func (a *app) checkImport(key, id, provider string, files []string) (string, error) {
	if len(files) == 0 {
		var forms []string
		for _, v := range spec.Vendors() {
			if canon, ok := spec.NormalizeGroupID(v, id); ok {
				return canon, nil
			}
			forms = append(forms, fmt.Sprintf("%s: %s", v, spec.GroupIDForm(v)))
		}
		return "", fmt.Errorf("%q is not a group id of any vendor (%s); nothing was changed\nhint: copy the id from the vendor; pass -f MANIFEST to check it against %s's vendor", id, strings.Join(forms, "; "), provider)
	}
	m, err := a.load(files)
	if err != nil {
		return "", err
	}
	p, ok := m.Providers[provider]
	if !ok {
		names := make([]string, 0, len(m.Providers))
		for n := range m.Providers {
			names = append(names, n)
		}
		sort.Strings(names)
		return "", fmt.Errorf("the manifest has no provider %q (it has: %s); nothing was changed\nhint: --provider names a provider of the manifest", provider, strings.Join(names, ", "))
	}
	canon, ok := spec.NormalizeGroupID(p.Vendor, id)
	if !ok {
		return "", fmt.Errorf("%q is not a %s group id (%s), as provider %s needs; nothing was changed\nhint: copy the id from %s", id, p.Vendor, spec.GroupIDForm(p.Vendor), provider, p.Vendor)
	}
	for _, g := range m.Groups {
		if g.Key == key && g.Provider != provider {
			return "", fmt.Errorf("the manifest's group %s is on provider %s, not %s; nothing was changed", key, g.Provider, provider)
		}
	}
	return canon, nil
}

// stateImport binds key to the group id of provider. A key already bound
// to another group is rebound only with force: the message says what it
// was bound to, since that group is then left unmanaged on the vendor.
func (a *app) stateImport(ctx context.Context, store *state.Store, key, id, provider string, files []string, force bool) error {
	if err := checkUnbound(ctx, store, key, provider, id); err != nil {
		return err
	}
	old, bound, err := store.Binding(ctx, key)
	if err != nil {
		return err
	}
	if bound && old.Provider == provider && old.GroupID == id {
		fmt.Fprintf(a.stdout, "%s is already bound to %s group %s: nothing to do.\n", key, provider, id)
		return nil
	}
	if bound && !force {
		return fmt.Errorf("%s is already bound to %s group %s (%s at %s); nothing was changed\nhint: if that binding is wrong, run again with --force to bind %s to %s group %s instead (group %s is then left as it is on %s, unmanaged)",
			key, old.Provider, old.GroupID, old.Origin, old.BoundAt.UTC().Format(time.RFC3339), key, provider, id, old.GroupID, old.Provider)
	}
	if err := store.Import(ctx, state.Binding{Key: key, Provider: provider, GroupID: id, Origin: state.OriginImported, BoundAt: a.now()}); err != nil {
		return err
	}
	if bound {
		fmt.Fprintf(a.stdout, "%s is now bound to %s group %s (was %s group %s, left as it is).\n", key, provider, id, old.Provider, old.GroupID)
		return nil
	}
	fmt.Fprintf(a.stdout, "%s is now bound to %s group %s.\n", key, provider, id)
	return nil
}

// checkUnbound refuses to bind a group id that another key already holds:
// two keys on one group would make each apply act twice on it.
func checkUnbound(ctx context.Context, store *state.Store, key, provider, groupID string) error {
	bindings, err := store.Bindings(ctx)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if b.Key != key && b.Provider == provider && b.GroupID == groupID {
			return fmt.Errorf("%s group %s is already bound to key %s\nhint: run `groupsync state forget %s` first if that key is wrong", provider, groupID, b.Key, b.Key)
		}
	}
	return nil
}

// stateResolve settles the notices and banners of key whose outcome is
// unknown, as the user found them on the vendor: the one with content hash
// hash, or the only one when hash is empty. With more than one open and no
// hash it refuses and lists them: one verdict for all would be wrong when
// one was posted and another not.
func (a *app) stateResolve(ctx context.Context, store *state.Store, key, verdict, hash string) error {
	if verdict != "posted" && verdict != "not-posted" {
		return fmt.Errorf("state resolve: %q is not posted or not-posted", verdict)
	}
	n, err := store.ResolvePosts(ctx, key, hash, verdict == "posted")
	var many *state.AmbiguousPostsError
	if errors.As(err, &many) {
		var open []string
		for _, in := range many.Open {
			open = append(open, fmt.Sprintf("  --hash %s  %s %q sent at %s", in.Hash, in.Kind, in.Name, in.StartedAt.UTC().Format(time.RFC3339)))
		}
		return fmt.Errorf("%s has %d notices or banners whose outcome is unknown; say which one with --hash, nothing was changed:\n%s\nhint: check each in the group, then run `groupsync state resolve %s posted --hash HASH` or `groupsync state resolve %s not-posted --hash HASH` for it",
			key, len(open), strings.Join(open, "\n"), key, key)
	}
	if err != nil {
		return err
	}
	if n == 0 && hash != "" {
		return fmt.Errorf("%s has no notice or banner with hash %s whose outcome is unknown\nhint: groupsync state show %s lists its pending writes; the plan's fix names the hash", key, hash, key)
	}
	if n == 0 {
		return fmt.Errorf("%s has no notice or banner whose outcome is unknown\nhint: groupsync state show %s lists its pending writes", key, key)
	}
	fmt.Fprintf(a.stdout, "Resolved %s of %s as %s.\n", plural(n, "post"), key, verdict)
	return nil
}

func (a *app) confirm(prompt string) bool {
	if !a.terminal {
		return false
	}
	fmt.Fprint(a.stdout, prompt)
	line, _ := bufio.NewReader(a.stdin).ReadString('\n')
	return strings.TrimSpace(line) == "yes"
}

func (a *app) stateList(ctx context.Context, store *state.Store) error {
	bindings, err := store.Bindings(ctx)
	if err != nil {
		return err
	}
	reads, err := store.Reads(ctx)
	if err != nil {
		return err
	}
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	pending := map[string]int{}
	keys := map[string]bool{}
	for k := range bindings {
		keys[k] = true
	}
	for _, in := range intents {
		pending[in.Key]++
		keys[in.Key] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tPROVIDER\tGROUP ID\tORIGIN\tLAST READ\tPENDING")
	for _, k := range sorted {
		b := bindings[k]
		last := "-"
		if r, ok := reads[k]; ok {
			last = r.ReadAt.UTC().Format(time.RFC3339)
		}
		provider, id, origin := orDash(b.Provider), orDash(b.GroupID), orDash(string(b.Origin))
		// What the state holds may have come from a vendor: escaped, it
		// cannot drive the terminal (nor a tab break the columns).
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", esc(k), esc(provider), esc(id), esc(origin), last, pending[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return a.printLock(ctx, store)
}

func (a *app) stateShow(ctx context.Context, store *state.Store, key string) error {
	b, ok, err := store.Binding(ctx, key)
	if err != nil {
		return err
	}
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	var mine []state.Intent
	for _, in := range intents {
		if in.Key == key {
			mine = append(mine, in)
		}
	}
	if !ok && len(mine) == 0 {
		return fmt.Errorf("the state knows no group %q\nhint: groupsync state list shows the keys it knows", key)
	}
	w := a.stdout
	fmt.Fprintf(w, "key:       %s\n", esc(key))
	if ok {
		fmt.Fprintf(w, "provider:  %s\ngroup id:  %s\norigin:    %s\nbound at:  %s\n", esc(b.Provider), esc(b.GroupID), esc(string(b.Origin)), b.BoundAt.UTC().Format(time.RFC3339))
	}
	reads, err := store.Reads(ctx)
	if err != nil {
		return err
	}
	if r, ok := reads[key]; ok {
		fmt.Fprintf(w, "last read: %s (%d members", r.ReadAt.UTC().Format(time.RFC3339), len(r.Group.Members))
		if r.Group.Name != "" {
			fmt.Fprintf(w, ", named %q", r.Group.Name)
		}
		fmt.Fprintln(w, ")")
	}
	posts, err := store.Posts(ctx)
	if err != nil {
		return err
	}
	for _, p := range posts[key] {
		fmt.Fprintf(w, "posted:    %s %s (vendor id %s) at %s\n", p.Kind, esc(p.Hash), esc(orDash(p.VendorID)), p.PostedAt.UTC().Format(time.RFC3339))
	}
	for _, in := range mine {
		fmt.Fprintf(w, "pending:   %s %q sent at %s, outcome unknown\n", in.Kind, in.Name, in.StartedAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// esc escapes what is not printable in a value read from the state.
func esc(s string) string { return printable.Escape(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// refuseSettling refuses to forget a key whose create of unknown outcome is
// still settling: the vendor may yet make its group, and a forgotten key is
// created again by the next apply, so forgetting it now could make the
// group twice (SPEC section 7.7).
func (a *app) refuseSettling(ctx context.Context, store *state.Store, key string, settle time.Duration) error {
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.Key != key || in.Kind != state.IntentCreate {
			continue
		}
		if until := in.LastAttempt().Add(settle); a.now().Before(until) {
			return fmt.Errorf("the create of %s last sent at %s has an unknown outcome and is settling until %s: the vendor may still make its group, and forgetting %s now could create it twice; nothing was changed\nhint: wait until then and look for the group on the vendor (`groupsync plan` finds it where the vendor can list groups); pin it with groupId: or `groupsync state import` if it is there; --settle 0 forgets at once",
				key, in.LastAttempt().Local().Format(time.TimeOnly), until.Local().Format(time.TimeOnly), key)
		}
	}
	return nil
}

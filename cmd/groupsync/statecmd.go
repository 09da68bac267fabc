package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"groupsync/internal/printable"
	"groupsync/internal/state"
)

const stateSynopsis = `state list [--format text|json] | state runs [--limit N] [--format text|json] | state show KEY | state import KEY GROUPID --provider NAME | state forget KEY [--yes] | state resolve KEY posted|not-posted [--hash HASH]`

func (a *app) stateCmd(ctx context.Context, args []string) error {
	fs := a.newFlagSet("state", stateSynopsis, "groupsync state import legacy-room 5bee7172e4b0f6bbaa32b4bf --provider kingdee")
	var (
		c        commonFlags
		provider string
		yes      bool
		hash     string
		format   string
		limit    int
	)
	a.addCommon(fs, &c)
	fs.StringVar(&provider, "provider", "", "provider `name` of an imported group")
	fs.BoolVar(&yes, "yes", false, "forget without asking")
	fs.StringVar(&format, "format", "text", "list and runs: output format, text or json")
	fs.IntVar(&limit, "limit", 20, "runs: how many of the latest runs to show (0: all)")
	fs.StringVar(&hash, "hash", "", "resolve only the notice or banner with this content `hash` (the plan's fix names it)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fs.SetOutput(a.stderr)
		fs.Usage()
		return errors.New("state needs a subcommand: list, runs, show, import, forget or resolve")
	}
	want := map[string]int{"list": 0, "runs": 0, "show": 1, "import": 2, "forget": 1, "resolve": 2}
	n, ok := want[pos[0]]
	if !ok {
		return fmt.Errorf("state: unknown subcommand %q\nhint: %s", pos[0], stateSynopsis)
	}
	if len(pos)-1 != n {
		return fmt.Errorf("state %s takes %d arguments, got %d\nhint: %s", pos[0], n, len(pos)-1, stateSynopsis)
	}
	if pos[0] != "import" {
		// Only import may start a state file: a mistyped --state must not
		// quietly show an empty one.
		if _, err := os.Stat(c.state); errors.Is(err, iofs.ErrNotExist) {
			return fmt.Errorf("state file %s does not exist\nhint: check --state (or GROUPSYNC_STATE); the first apply creates it", c.state)
		}
	}
	if format != "text" && format != "json" {
		return fmt.Errorf("--format: %q is not text or json", format)
	}
	store, err := state.Open(c.state)
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
	}
	// The rest write: they take the lock like apply.
	unlock, err := store.Lock(ctx, "groupsync state "+pos[0], 0)
	if err != nil {
		return err
	}
	defer unlock()
	switch pos[0] {
	case "import":
		if provider == "" {
			return errors.New("state import needs --provider NAME (the manifest's provider of the group)")
		}
		if err := checkUnbound(ctx, store, pos[1], provider, pos[2]); err != nil {
			return err
		}
		if err := importGroup(ctx, store, state.Binding{Key: pos[1], Provider: provider, GroupID: pos[2], Origin: state.OriginImported, BoundAt: time.Now()}); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s is now bound to %s group %s.\n", pos[1], provider, pos[2])
		return nil
	case "forget":
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

// importGroup binds b.Key to b.GroupID. When the key has a create whose
// outcome is unknown, the binding closes that intent in the same
// transaction, so that a crash cannot leave one without the other.
func importGroup(ctx context.Context, store *state.Store, b state.Binding) error {
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	for _, in := range intents {
		if in.Key == b.Key && in.Kind == state.IntentCreate {
			return store.CompleteCreate(ctx, in.ID, b)
		}
	}
	return store.Bind(ctx, b)
}

// stateResolve settles the notices and banners of key whose outcome is
// unknown, as the user found them on the vendor: every one of them, or only
// the one with content hash hash when it is not empty.
func (a *app) stateResolve(ctx context.Context, store *state.Store, key, verdict, hash string) error {
	if verdict != "posted" && verdict != "not-posted" {
		return fmt.Errorf("state resolve: %q is not posted or not-posted", verdict)
	}
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, in := range intents {
		if in.Key != key || in.Kind == state.IntentCreate || hash != "" && in.Hash != hash {
			continue
		}
		if verdict == "posted" {
			kind := state.PostNotice
			if in.Kind == state.IntentBanner {
				kind = state.PostBanner
			}
			err = store.CompletePost(ctx, in.ID, state.Post{Key: key, Kind: kind, Hash: in.Hash, PostedAt: in.StartedAt})
		} else {
			err = store.AbandonIntent(ctx, in.ID)
		}
		if err != nil {
			return err
		}
		n++
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
	return tw.Flush()
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

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/skip2/go-qrcode"

	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
)

func (a *app) history(ctx context.Context, args []string) error {
	fs := a.newFlagSet("history", "history -f PATH... KEY [--png FILE] [--invert]",
		"groupsync history -f examples/groups.yaml release-crew --png history.png")
	var (
		c      commonFlags
		files  stringList
		png    string
		invert bool
	)
	a.addCommon(fs, &c)
	fs.Var(&files, "f", "manifest `file or directory` (repeatable)")
	fs.StringVar(&png, "png", "", "also write the QR code as a PNG `file`")
	fs.BoolVar(&invert, "invert", false, "draw dark modules as blocks, for a terminal with a light background")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("history takes one group key, got %d arguments\nhint: groupsync history -f groups.yaml release-crew", len(pos))
	}
	key := pos[0]
	m, err := a.load(files)
	if err != nil {
		return err
	}
	g, p, err := historyGroup(m, key)
	if err != nil {
		return err
	}
	log, err := a.logger(c.logFormat)
	if err != nil {
		return err
	}
	store, err := state.Open(c.location())
	if err != nil {
		return err
	}
	defer store.Close()
	groupID, err := boundGroupID(ctx, store, g)
	if err != nil {
		return err
	}
	// Connect to this group's provider alone: another provider's token is
	// not needed for a history link.
	one := *m
	one.Providers = map[string]*spec.Provider{p.Name: p}
	conns, err := a.connect(&one, &c, log, nil)
	if err != nil {
		return err
	}
	hc, ok := conns.clients[p.Name].(vendors.HistoryClient)
	if !ok {
		_ = conns.close()
		return fmt.Errorf("group %s is on %s: %s has no message-history API", key, g.Vendor, g.Vendor)
	}
	mid, err := hc.MergeHistory(ctx, groupID, g.Owner.ID)
	if cerr := conns.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("group %s: create merged history: %w", key, err)
	}
	link := hc.HistoryURL(p.Endpoint, mid, p.Workspace)
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("QR code of %s: %w", link, err)
	}
	fmt.Fprintf(a.stdout, "%s\n\n%s", link, halfBlocks(q.Bitmap(), invert))
	if png != "" {
		data, err := q.PNG(-8)
		if err != nil {
			return fmt.Errorf("--png: %w", err)
		}
		if err := os.WriteFile(png, data, 0o644); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
		fmt.Fprintf(a.stderr, "Wrote the QR code to %s.\n", png)
	}
	return nil
}

// historyGroup finds key in the manifest and checks that a history link can
// be made for it: a group of a vendor with a message history whose provider
// has a workspace.
func historyGroup(m *spec.Manifest, key string) (*spec.Group, *spec.Provider, error) {
	var g *spec.Group
	keys := make([]string, 0, len(m.Groups))
	for _, x := range m.Groups {
		if x.Key == key {
			g = x
		}
		if hasHistory(x.Vendor) {
			keys = append(keys, x.Key)
		}
	}
	if g == nil {
		hint := "the manifest has no " + historyTitles() + " group"
		if len(keys) > 0 {
			hint = historyTitles() + " groups in the manifest: " + strings.Join(keys, ", ")
		}
		return nil, nil, fmt.Errorf("no group %q in the manifest\nhint: %s", key, hint)
	}
	if !hasHistory(g.Vendor) {
		return nil, nil, fmt.Errorf("group %s is on %s: %s has no message-history API", key, g.Vendor, g.Vendor)
	}
	p := m.Providers[g.Provider]
	if p.Workspace == "" {
		return nil, nil, fmt.Errorf("provider %s has no workspace: set workspace: to the eid\nhint: the history link is https://<host>/imbu/chat/history.html?mid=…&eid=<workspace>", p.Name)
	}
	if g.Owner == nil {
		return nil, nil, fmt.Errorf("group %s has no owner and provider %s no operator: set one to act as", key, p.Name)
	}
	return g, p, nil
}

// boundGroupID is the group's vendor id: pinned in the manifest, or bound in
// the state by an earlier apply.
func boundGroupID(ctx context.Context, store *state.Store, g *spec.Group) (string, error) {
	if g.GroupID != "" {
		return g.GroupID, nil
	}
	b, ok, err := store.Binding(ctx, g.Key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("group %s is not created yet: the state has no group id for it\nhint: run groupsync apply first, or pin an existing group with groupId: in the manifest", g.Key)
	}
	if b.Provider != g.Provider {
		return "", errors.New("group " + g.Key + " is bound to provider " + b.Provider + " in the state but the manifest says " + g.Provider +
			"\nhint: groupsync state forget " + g.Key + " and apply again, or pin the group with groupId:")
	}
	return b.GroupID, nil
}

// halfBlocks draws a QR bitmap (true: a dark module; the quiet zone
// included) two module rows per text line with ▀ ▄ █ and space. A block is
// a light module, for the usual dark terminal background; invert draws the
// dark modules instead, for a light one. An odd last row is paired with a
// light row, which only widens the quiet zone.
func halfBlocks(bits [][]bool, invert bool) string {
	glyphs := [2][2]string{{" ", "▄"}, {"▀", "█"}} // [top drawn][bottom drawn]
	drawn := func(y, x int) int {
		dark := y < len(bits) && bits[y][x]
		if dark == invert {
			return 1
		}
		return 0
	}
	var b strings.Builder
	for y := 0; y < len(bits); y += 2 {
		for x := range bits[y] {
			b.WriteString(glyphs[drawn(y, x)][drawn(y+1, x)])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// hasHistory reports whether v's API makes message-history links.
func hasHistory(v spec.Vendor) bool {
	d, ok := vendors.Lookup(string(v))
	return ok && d.Capabilities.History
}

// historyTitles names the vendors with a message history, in prose.
func historyTitles() string {
	return vendors.Join(func(d *vendors.Vendor) bool { return d.Capabilities.History },
		func(d *vendors.Vendor) string { return d.Title }, " or ")
}

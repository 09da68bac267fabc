package export_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"groupsync/internal/export"
	"groupsync/internal/vendors"
)

// The round-trip property: for any world, the exported manifest is valid
// with the providers manifest it was made from, names exactly the groups it
// should (those found, less those managed and those unreadable), a plan of
// the two together only adopts, and a second export writes the same bytes.

// propNames provoke duplicate keys, slugs that collide with the manifest's
// keys, names with no ASCII, and long names.
var propNames = []string{"Lunch club", "lunch-club", "LUNCH CLUB", "运维广播", "研发 Dev", "A", "Ops / On-call 2026!",
	"group-20001", strings.Repeat("very long name ", 8), "读书会", "it", "x: y", "yes", "123", `quote "me"`}

// propManaged is the providers manifest's own groups: keys export's slugs
// collide with, and (Lunkr) a group export finds but must skip.
const propManagedLunkr = `  - key: lunch-club
    provider: coremail
    groupId: "29999"
    members: [alice]
  - key: group-20001
    provider: coremail
    groupId: "29998"
    members: [erin]
`

const propManagedYunzhijia = `  - key: lunch-club
    provider: kingdee
    groupId: 5c99999999999999999999aa
    members: [alice]
`

func TestExportRoundTripProperty(t *testing.T) {
	for seed := range uint64(25) {
		t.Run(fmt.Sprintf("lunkr/%d", seed), func(t *testing.T) { propLunkr(t, seed) })
		t.Run(fmt.Sprintf("yunzhijia/%d", seed), func(t *testing.T) { propYunzhijia(t, seed) })
	}
}

func subset[T any](rng *rand.Rand, pool []T, min int) []T {
	var out []T
	for _, x := range pool {
		if rng.IntN(2) == 0 {
			out = append(out, x)
		}
	}
	for len(out) < min {
		out = append(out, pool[rng.IntN(len(pool))])
	}
	return out
}

func propLunkr(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 16))
	r := newRig(t)
	r.lk.AddUser("1000777", "bob@example.com", "Bob")
	users := []vendors.LiveMember{
		{Email: "alice@example.com"}, {ID: "1000777"}, {Email: "Erin@Example.com"},
		{Email: "x.y@example.com"}, {Email: "alice@other.example.com"}, {Email: "1abc@example.com"},
		{Email: "Zoe@Example.com"}, {Email: "zoe@example.org"}, {Email: "abcdefabcdefabcdefabcdef@example.com"},
	}
	emailOf := func(m vendors.LiveMember) string {
		if m.ID == "1000777" {
			return "bob@example.com"
		}
		return strings.ToLower(m.Email)
	}
	type seeded struct {
		id      string
		members []string // lower-case emails of members and subscribers
	}
	var groups []seeded
	for i := range 1 + rng.IntN(7) {
		g := vendors.Group{ID: fmt.Sprint(20001 + i), Name: propNames[rng.IntN(len(propNames))],
			Type: []string{"topic", "public", "sysTopic"}[rng.IntN(3)], Members: subset(rng, users, 1)}
		if g.Type == "sysTopic" {
			g.Subscribers = subset(rng, users, 0)
		}
		r.lk.SeedGroup(g)
		s := seeded{id: g.ID}
		for _, m := range slices.Concat(g.Members, g.Subscribers) {
			s.members = append(s.members, emailOf(m))
		}
		groups = append(groups, s)
	}
	// The group the manifest manages: found through alice, skipped.
	r.lk.SeedGroup(vendors.Group{ID: "29999", Name: "Lunch club", Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
	r.lk.SeedGroup(vendors.Group{ID: "29998", Name: "Elsewhere", Members: []vendors.LiveMember{{Email: "erin@example.com"}}})
	var asked []string
	for _, u := range subset(rng, users, 1) {
		asked = append(asked, emailOf(u))
	}
	path, m := r.providers(propManagedLunkr)
	res, text := r.export(m, export.Options{Provider: "coremail", Members: asked, SkipManaged: true, Parallelism: 1 + rng.IntN(4)})

	var want []string
	for _, g := range groups {
		if slices.ContainsFunc(asked, func(u string) bool { return slices.Contains(g.members, u) }) {
			want = append(want, g.id)
		}
	}
	checkExported(t, res, want, text)
	skipped := 0
	for _, u := range []string{"alice@example.com", "erin@example.com"} {
		if slices.Contains(asked, u) {
			skipped++
		}
	}
	if res.Skipped != skipped {
		t.Errorf("skipped %d, want %d", res.Skipped, skipped)
	}
	// The manifest's pins adopt too.
	checkRoundTrip(t, r.plan(path, text), len(want)+2, text)
	if _, again := r.export(m, export.Options{Provider: "coremail", Members: asked, SkipManaged: true}); again != text {
		t.Errorf("a second export differs:\n%s\n---\n%s", again, text)
	}
}

func propYunzhijia(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 17))
	r := newRig(t)
	others := []string{alice, bob, stranger, zed, "5c11111111111111111111aa", "5c22222222222222222222bb"}
	var ids, want []string
	for i := range 1 + rng.IntN(7) {
		members := subset(rng, others, 0)
		readable := rng.IntN(5) > 0
		if readable {
			members = append(members, erin)
		}
		if len(members) == 0 {
			members = append(members, alice)
		}
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		var live []vendors.LiveMember
		for _, id := range members {
			live = append(live, vendors.LiveMember{ID: id})
		}
		g := vendors.Group{ID: fmt.Sprintf("5c%022x", 0xa1+i), Name: propNames[rng.IntN(len(propNames))],
			Managers: subset(rng, members, 0), Members: live}
		r.yzj.SeedGroup(g)
		ids = append(ids, g.ID)
		if readable {
			want = append(want, g.ID)
		}
	}
	r.yzj.SeedGroup(vendors.Group{ID: "5c99999999999999999999aa", Name: "Lunch club", Managers: []string{erin},
		Members: []vendors.LiveMember{{ID: erin}, {ID: alice}}})
	path, m := r.providers(propManagedYunzhijia)
	res, text := r.export(m, export.Options{Provider: "kingdee", GroupIDs: ids, Parallelism: 1 + rng.IntN(4)})
	checkExported(t, res, want, text)
	if len(res.Failures) != len(ids)-len(want) {
		t.Errorf("failures %v, want one per group the operator is not in", res.Failures)
	}
	checkRoundTrip(t, r.plan(path, text), len(want)+1, text)
	if _, again := r.export(m, export.Options{Provider: "kingdee", GroupIDs: ids}); again != text {
		t.Errorf("a second export differs:\n%s\n---\n%s", again, text)
	}
}

// checkExported fails unless res has exactly the groups want (ids), each
// once, in the order of their names then ids.
func checkExported(t *testing.T, res *export.Result, want []string, text string) {
	t.Helper()
	var got []string
	for _, g := range res.Groups {
		got = append(got, g.GroupID)
	}
	slices.Sort(want)
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Fatalf("exported %v, want %v\n%s", got, want, text)
	}
	if !slices.IsSortedFunc(res.Groups, func(a, b export.Group) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.GroupID, b.GroupID)
	}) {
		t.Errorf("groups not in the order of their names, then ids:\n%s", text)
	}
}

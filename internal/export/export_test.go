package export_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/export"
	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

// A small Lunkr world: duplicate names, a Chinese name, a broadcast, a
// member known by uid, members the manifest does not know (by email, one
// whose local part is taken, one with a uid only), a group the manifest
// already manages, and a user the vendor does not know.
func seedLunkr(r *rig) {
	lk := r.lk
	lk.AddUser("1000777", "bob@example.com", "Bob")
	lk.AddUser("3000001", "", "No Mail")
	lk.SeedGroup(vendors.Group{ID: "20001", Name: "Lunch club", Members: []vendors.LiveMember{
		{Email: "alice@example.com"}, {ID: "1000777"}, {Email: "chef@canteen.example.com"}, {ID: "3000001"}}})
	lk.SeedGroup(vendors.Group{ID: "20002", Name: "Lunch club", Type: "public", Members: []vendors.LiveMember{
		{Email: "alice@partner.example.com"}, {Email: "Alice@Example.com"}, {Email: "dave@example.com"}}})
	lk.SeedGroup(vendors.Group{ID: "20003", Name: "运维广播", Type: "sysTopic",
		Members:     []vendors.LiveMember{{Email: "erin@example.com"}},
		Subscribers: []vendors.LiveMember{{Email: "alice@example.com"}, {Email: "chef@canteen.example.com"}, {Email: "dave@example.com"}}})
	lk.SeedGroup(vendors.Group{ID: "20004", Name: "Ops / On-call 2026!", Members: []vendors.LiveMember{
		{ID: "1000777"}, {Email: "erin@example.com"}}})
	lk.SeedGroup(vendors.Group{ID: "20005", Name: "Managed", Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
	// Nobody asked about: never read.
	lk.SeedGroup(vendors.Group{ID: "20006", Name: "Elsewhere", Members: []vendors.LiveMember{{Email: "zed@example.com"}}})
	lk.RejectUser("ghost@example.com")
}

// The providers manifest manages 20005 under the key lunch-club, which
// the two Lunch club groups would take.
const lunkrManaged = `  - key: lunch-club
    provider: coremail
    groupId: "20005"
    members: [alice]
`

func TestExportLunkrGolden(t *testing.T) {
	r := newRig(t)
	seedLunkr(r)
	path, m := r.providers(lunkrManaged)
	res, text := r.export(m, export.Options{Provider: "coremail", SkipManaged: true,
		Members: []string{"alice@example.com", "erin@example.com", "ghost@example.com", "alice@example.com"}})
	golden(t, "lunkr", text)
	if len(res.Groups) != 4 || res.Skipped != 1 || len(res.Failures) != 1 {
		t.Errorf("%d groups, %d skipped, failures %v; want 4, 1 and the unknown user", len(res.Groups), res.Skipped, res.Failures)
	}
	if f := res.Failures[0]; f.What != "member ghost@example.com" || !errors.Is(f.Err, vendors.ErrBadRequest) {
		t.Errorf("failure %v: want the unknown user", f)
	}
	if n := r.lk.Calls()["groups/info"]; n != 5 {
		t.Errorf("%d groups/info calls, want one per group found (5)", n)
	}
	// The promise: planned with the providers, only adoptions.
	checkRoundTrip(t, r.plan(path, text), 5, text)
}

// A small Yunzhijia world: the operator a manager or not, no manager at
// all, a duplicate name, a Chinese name, a group the operator is not in
// (unreadable), a group that does not exist, and an id that is not one.
func seedYunzhijia(r *rig) {
	y := r.yzj
	y.SeedGroup(vendors.Group{ID: "5c00000000000000000000a1", Name: "Design review", Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: erin}, {ID: stranger}}})
	y.SeedGroup(vendors.Group{ID: "5c00000000000000000000a2", Name: "发布讨论组", Managers: []string{bob, erin},
		Members: []vendors.LiveMember{{ID: bob}, {ID: erin}, {ID: zed}}})
	y.SeedGroup(vendors.Group{ID: "5c00000000000000000000a3", Name: "Design review",
		Members: []vendors.LiveMember{{ID: erin}, {ID: alice}}})
	y.SeedGroup(vendors.Group{ID: "5c00000000000000000000a4", Name: "IT 服务台", Managers: []string{erin},
		Members: []vendors.LiveMember{{ID: erin}, {ID: alice}, {ID: bob}, {ID: stranger}}})
	y.SeedGroup(vendors.Group{ID: "5c00000000000000000000a5", Name: "Board", Managers: []string{alice},
		Members: []vendors.LiveMember{{ID: alice}, {ID: bob}}})
}

func TestExportYunzhijiaGolden(t *testing.T) {
	r := newRig(t)
	seedYunzhijia(r)
	path, m := r.providers("")
	res, text := r.export(m, export.Options{Provider: "kingdee", GroupIDs: []string{
		"5c00000000000000000000a1", "5C00000000000000000000A2", "5c00000000000000000000a3", "5c00000000000000000000a4",
		"5c00000000000000000000a5", "5c00000000000000000000ff", "not-an-id", "5c00000000000000000000a2"}})
	golden(t, "yunzhijia", text)
	if len(res.Groups) != 4 || len(res.Failures) != 3 {
		t.Errorf("%d groups, failures %v; want 4 and 3", len(res.Groups), res.Failures)
	}
	for _, f := range res.Failures {
		if !strings.Contains(text, "#   "+f.What+": ") {
			t.Errorf("failure %v is not in the trailing comment", f)
		}
	}
	checkRoundTrip(t, r.plan(path, text), 4, text)
}

func TestExportOptions(t *testing.T) {
	r := newRig(t)
	_, m := r.providers("")
	for _, tc := range []struct {
		name string
		o    export.Options
		want string
	}{
		{"no source", export.Options{Provider: "coremail"}, "nothing to export: name the groups of provider coremail with --member ID (whose groups are listed), --group-id ID or --from-state"},
		{"member without a list call", export.Options{Provider: "kingdee", Members: []string{alice}}, "provider kingdee: yunzhijia cannot list the groups of a user: name its groups with --group-id or --from-state"},
		{"unknown provider", export.Options{Provider: "nope", GroupIDs: []string{"1"}}, `unknown provider "nope": the -f manifests define coremail, kingdee`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Manifest = m
			c := r.client(m, "coremail")
			if o.Provider == "kingdee" {
				c = r.client(m, "kingdee")
			}
			_, err := export.Export(context.Background(), c, o)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
	if n := len(r.calls()); n != 0 {
		t.Errorf("calls %v: bad options must make none", r.calls())
	}
}

// A Yunzhijia read acts as a user: with neither a manifest owner nor a
// provider operator, the failure says what to set.
func TestExportNeedsAnOperator(t *testing.T) {
	r := newRig(t)
	seedYunzhijia(r)
	path := filepath.Join(r.dir, "no-operator.yaml")
	text := fmt.Sprintf("version: 1\nproviders:\n  kingdee: {vendor: yunzhijia, endpoint: %q, token: \"${TOK}\"}\n", r.yzjURL)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	res, out := r.export(m, export.Options{Provider: "kingdee", GroupIDs: []string{"5c00000000000000000000a1"}})
	if len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error(), "hint: set operator: on provider kingdee: its reads act as that user") {
		t.Errorf("failures %v\n%s", res.Failures, out)
	}
	if n := len(r.calls()); n != 0 {
		t.Errorf("calls %v: the client refuses an empty currentUid without a call", r.calls())
	}
}

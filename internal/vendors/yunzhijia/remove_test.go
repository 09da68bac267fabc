package yunzhijia

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

func TestRemoveMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seedGroup(e.sim, gid, "讨论组", []string{alice, carol}, alice, bob, carol, dave)
	// A repeated id, an id no longer in the group and the empty string are
	// sent once, as given, and dropped.
	if err := e.c.RemoveMembers(ctx, gid, alice, []string{bob, carol, bob, erin, ""}); err != nil {
		t.Fatal(err)
	}
	g, _ := e.sim.Group(gid)
	want := vendors.Group{ID: gid, Name: "讨论组", Managers: []string{alice}, Members: []vendors.LiveMember{{ID: alice}, {ID: dave}}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("group (-want +got):\n%s", d)
	}
	// Nothing to remove: no call.
	if err := e.c.RemoveMembers(ctx, gid, alice, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.sim.Calls(); got[CallDelGroupUser] != 1 || len(got) != 1 {
		t.Fatalf("calls = %v, want one delGroupUser", got)
	}
}

func TestRemoveMembersRetriedAfterLostAnswer(t *testing.T) {
	e := newEnv(t)
	seedGroup(e.sim, gid, "", []string{alice}, alice, bob, carol)
	e.sim.SetFaults(Faults{LoseAnswerRate: 1, Calls: []string{CallDelGroupUser}})
	e.clearFaultsAfter(1)
	if err := e.c.RemoveMembers(context.Background(), gid, alice, []string{bob}); err != nil {
		t.Fatal(err)
	}
	g, _ := e.sim.Group(gid)
	if n := e.sim.Calls()[CallDelGroupUser]; n != 2 || len(g.Members) != 2 {
		t.Fatalf("attempts %d, members %v; want 2 attempts and bob removed", n, memberIDs(g))
	}
}

func TestRemoveMembersErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seedGroup(e.sim, gid, "", []string{alice}, alice, bob)
	for name, tc := range map[string]struct {
		group, operator string
		ids             []string
		kind            error
	}{
		"empty group":      {"", alice, []string{bob}, vendors.ErrBadRequest},
		"empty operator":   {gid, "", []string{bob}, vendors.ErrBadRequest},
		"not an id":        {gid, alice, []string{"bob"}, vendors.ErrBadRequest},
		"unknown group":    {"5bee0000e4b0f6bbaa32b4bf", alice, []string{bob}, vendors.ErrNotFound},
		"operator outside": {gid, carol, []string{bob}, vendors.ErrNoPermission},
	} {
		t.Run(name, func(t *testing.T) {
			err := e.c.RemoveMembers(ctx, tc.group, tc.operator, tc.ids)
			var ve *vendors.Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &ve) || ve.Call != CallDelGroupUser {
				t.Fatalf("err = %v, want %v of delGroupUser", err, tc.kind)
			}
		})
	}
	if g, _ := e.sim.Group(gid); len(g.Members) != 2 {
		t.Fatalf("members %v, want both still there", memberIDs(g))
	}
}

func TestReadGroupInfo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	seedGroup(e.sim, gid, "发布讨论组", []string{alice}, alice, bob, carol)
	// No notice yet: Notice is nil.
	got, err := e.c.ReadGroupInfo(ctx, gid, alice)
	if err != nil {
		t.Fatal(err)
	}
	want := &vendors.GroupInfo{ID: gid, Name: "发布讨论组", Managers: []string{alice}, ParticipantCount: 3}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("info (-want +got):\n%s", d)
	}
	// The current notice is the latest one posted.
	for _, n := range []vendors.Notice{{Title: "一", Content: "first"}, {Title: "二", Content: "second"}} {
		if _, err := e.c.PostNotice(ctx, gid, alice, n); err != nil {
			t.Fatal(err)
		}
	}
	if got, err = e.c.ReadGroupInfo(ctx, gid, alice); err != nil {
		t.Fatal(err)
	}
	want.Notice = &vendors.Notice{Title: "二", Content: "second"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("info (-want +got):\n%s", d)
	}
	e.sim.DeleteGroup(gid)
	if _, err := e.c.ReadGroupInfo(ctx, gid, alice); !errors.Is(err, vendors.ErrNotFound) {
		t.Fatalf("read of a dismissed group: %v, want ErrNotFound", err)
	}
}

// TestReadGroupInfoOtherKey: an answer keyed by another group than the one
// asked for is unreadable, not an empty group.
func TestReadGroupInfoOtherKey(t *testing.T) {
	ans := []byte(`{"success":true,"errorCode":0,"error":null,"data":{"5bee0000e4b0f6bbaa32b4bf":{"groupInfo":{"groupName":"x"}}}}`)
	err := decodeAnswer(CallGroupInfo, ans, &groupInfoAnswer{groupID: gid})
	if !errors.Is(err, vendors.ErrUnreadable) {
		t.Fatalf("err = %v, want ErrUnreadable", err)
	}
}

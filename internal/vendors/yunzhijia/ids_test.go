package yunzhijia

import (
	"context"
	"errors"
	"strings"
	"testing"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/simfault"
)

// badIDs are ids of every wrong shape a vendor has been seen to answer with.
var badIDs = []string{
	"not-a-hex-id",
	strings.Repeat("a", 5000),
	"5bee7172e4b0f6bbaa32b4b\x1b", // ESC
	"5bee7172e4b0f6bbaa32b4b\n",   // newline
	"abc&accessToken=evil",
	"5bee7172e4b0f6bbaa32b4bf0", // 25 digits
	"5bee7172e4b0f6bbaa32b4bg",  // not hex
	"",
}

// A create answered with an id of the wrong shape has an unknown outcome:
// the group was made (the simulator applied it), but its id cannot be
// recorded. The error shows the id escaped and cut short.
func TestCreateAnsweredWithBadID(t *testing.T) {
	for _, bad := range badIDs {
		e := newEnv(t)
		e.sim.BadIDNext(CallCreateGroup, bad, 1)
		id, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice, Name: "g", Members: []string{alice, bob}})
		if !errors.Is(err, vendors.ErrUnknownOutcome) || id != "" {
			t.Errorf("create answered %.40q: id %q, err %v; want an unknown outcome", bad, id, err)
			continue
		}
		if len(e.sim.Groups()) != 1 {
			t.Errorf("the simulator made %d groups, want 1", len(e.sim.Groups()))
		}
		checkPrintable(t, err.Error())
		if got := e.sim.Calls()[CallCreateGroup]; got != 1 {
			t.Errorf("create sent %d times, want once", got)
		}
	}
}

// A post answered with a bad id is an unknown outcome; a read listing a
// member id of the wrong shape fails.
func TestPostsAndReadsWithBadID(t *testing.T) {
	ctx := context.Background()
	for _, bad := range badIDs[:5] {
		e := newEnv(t)
		gid, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice, Name: "g", Members: []string{alice, bob}})
		if err != nil {
			t.Fatal(err)
		}
		e.sim.BadIDNext(CallNotice, bad, 1)
		if _, err := e.c.PostNotice(ctx, gid, alice, vendors.Notice{Title: "t", Content: "c"}); !errors.Is(err, vendors.ErrUnknownOutcome) {
			t.Errorf("notice answered %.40q: %v, want an unknown outcome", bad, err)
		}
		e.sim.BadIDNext(CallBanner, bad, 1)
		if _, err := e.c.PostBanner(ctx, gid, alice, vendors.Banner{Content: "c"}); !errors.Is(err, vendors.ErrUnknownOutcome) {
			t.Errorf("banner answered %.40q: %v, want an unknown outcome", bad, err)
		}
		e.tr.MaxAttempts = 1
		e.sim.BadIDNext(CallGroupUsers, bad, 1)
		g, err := e.c.ReadGroup(ctx, gid, alice)
		if err == nil || !errors.Is(err, vendors.ErrTransient) {
			t.Errorf("read listing member %.40q: %v, %v; want a failed read", bad, g, err)
		} else {
			checkPrintable(t, err.Error())
		}
	}
}

// An error that echoes the token, in any encoding, never carries it.
func TestEchoedTokenRedacted(t *testing.T) {
	for _, enc := range simfault.TokenEncodings {
		e := newEnv(t)
		e.sim.EchoTokenNext(CallCreateGroup, enc, 1)
		_, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice, Name: "g", Members: []string{alice}})
		if err == nil {
			t.Fatalf("%s: no error", enc)
		}
		if !strings.Contains(err.Error(), "accessToken=REDACTED") {
			t.Errorf("%s: the echoed token is not redacted: %s", enc, err)
		}
	}
}

// checkPrintable fails when s holds a control character.
func checkPrintable(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			t.Errorf("control character %U in %q", r, s)
			return
		}
	}
}

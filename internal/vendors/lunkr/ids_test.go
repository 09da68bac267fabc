package lunkr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/simfault"
)

// badIDs are group ids of every wrong shape a vendor has been seen to
// answer with.
var badIDs = []string{
	"abc&accessToken=evil",
	"not-a-number",
	strings.Repeat("1", 5000),
	"10664\x1b[2J", // ESC
	"10664\n",
	"010664",
	"-5",
}

// A create answered with a group id of the wrong shape has an unknown
// outcome: the group was made, its id cannot be recorded.
func TestCreateAnsweredWithBadID(t *testing.T) {
	for _, bad := range badIDs {
		h := newHarness(t)
		h.sim.BadIDNext(CallCreate, bad, 1)
		id, err := h.client.CreateGroup(context.Background(), vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
		if !errors.Is(err, vendors.ErrUnknownOutcome) || id != "" {
			t.Errorf("create answered %.40q: id %q, err %v; want an unknown outcome", bad, id, err)
			continue
		}
		if h.calls(CallCreate) != 1 {
			t.Errorf("create sent %d times, want once", h.calls(CallCreate))
		}
		checkPrintable(t, err.Error())
	}
}

// A read or a list answering a group id of the wrong shape fails: a
// recovery must never bind it.
func TestReadsWithBadID(t *testing.T) {
	ctx := context.Background()
	for _, bad := range badIDs {
		h := newHarness(t)
		h.tr.MaxAttempts = 1
		gid, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		h.sim.BadIDNext(CallInfo, bad, 1)
		if g, err := h.client.ReadGroup(ctx, gid, ""); err == nil {
			t.Errorf("info answered %.40q: read %+v, want a failure", bad, g)
		} else {
			checkPrintable(t, err.Error())
		}
		h.sim.BadIDNext(CallList, bad, 1)
		if refs, err := h.client.ListGroups(ctx, "a@example.com"); err == nil {
			t.Errorf("list answered %.40q: %+v, want a failure", bad, refs)
		}
	}
}

// An error that echoes the token, in any encoding, never carries it.
func TestEchoedTokenRedacted(t *testing.T) {
	secret := "tok-LUNKR/+=="
	for _, enc := range simfault.TokenEncodings {
		sim := NewSimulator(secret)
		h := serve(t, sim, vendors.StaticToken("coremail", secret))
		sim.EchoTokenNext(CallCreate, enc, 1)
		_, err := h.client.CreateGroup(context.Background(), vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
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

package yunzhijia

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

const gid = "5bee7172e4b0f6bbaa32b4bf"

func TestNewDefaults(t *testing.T) {
	tr := &vendors.Transport{Vendor: "other"}
	New(tr)
	if tr.Vendor != "yunzhijia" || tr.BaseURL != DefaultBaseURL || tr.HTTP == nil {
		t.Fatalf("New left transport %q %q %v", tr.Vendor, tr.BaseURL, tr.HTTP)
	}
	tr = &vendors.Transport{BaseURL: "http://127.0.0.1:9/gateway"}
	New(tr)
	if tr.BaseURL != "http://127.0.0.1:9/gateway/" {
		t.Fatalf("BaseURL = %q, want a final slash", tr.BaseURL)
	}
}

func TestCreateGroup(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The operator is in Members and a member is repeated: the client sends
	// neither twice.
	id, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice, Name: "发布讨论组", Members: []string{bob, alice, carol, bob}})
	if err != nil {
		t.Fatal(err)
	}
	if !IsID(id) {
		t.Fatalf("group id %q is not 24 hex digits", id)
	}
	g, ok := e.sim.Group(id)
	if !ok {
		t.Fatalf("simulator has no group %s", id)
	}
	want := vendors.Group{ID: id, Name: "发布讨论组", Managers: []string{alice}, Members: []vendors.LiveMember{{ID: alice}, {ID: bob}, {ID: carol}}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("group (-want +got):\n%s", d)
	}
	if got := e.sim.Calls(); got[CallCreateGroup] != 1 || len(got) != 1 {
		t.Fatalf("calls = %v, want one createGroup", got)
	}
}

func TestCreateGroupIDsAreDeterministic(t *testing.T) {
	var ids []string
	for range 2 {
		e := newEnv(t)
		id, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] != ids[1] || ids[0] != "5e0000000000000000000001" {
		t.Fatalf("ids %v, want the same counter-based id twice", ids)
	}
}

func TestCreateGroupAloneWithoutName(t *testing.T) {
	e := newEnv(t)
	// No other member: userIds must still be an array (the simulator refuses null).
	id, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice, Members: []string{alice}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.sim.Group(id)
	if g.Name != alice || len(g.Members) != 1 {
		t.Fatalf("group %+v, want the creator alone, named after the member", g)
	}
}

func TestReadGroup(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice, bob, carol)
	g, err := e.c.ReadGroup(context.Background(), gid, bob)
	if err != nil {
		t.Fatal(err)
	}
	want := &vendors.Group{ID: gid, Managers: []string{alice}, Members: []vendors.LiveMember{{ID: alice}, {ID: bob}, {ID: carol}}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("ReadGroup (-want +got):\n%s", d)
	}
}

func TestAddMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.seed(gid, alice, bob)
	for range 2 { // idempotent
		if err := e.c.AddMembers(ctx, gid, alice, []string{carol, bob, erin}); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := e.sim.Group(gid)
	if d := cmp.Diff([]string{alice, bob, carol, erin}, memberIDs(g)); d != "" {
		t.Fatalf("members (-want +got):\n%s", d)
	}
	if err := e.c.AddMembers(ctx, gid, alice, nil); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Calls()[CallAddGroupUser]; n != 2 {
		t.Fatalf("addGroupUser calls = %d, want 2 (none for an empty list)", n)
	}
}

func TestPostNotice(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	title := strings.Repeat("发", 40) // 40 characters, 120 bytes
	content := strings.Repeat("布", 2000)
	id, err := e.c.PostNotice(context.Background(), gid, alice, vendors.Notice{Title: title, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	if !IsID(id) {
		t.Fatalf("notice id %q", id)
	}
	if d := cmp.Diff([]vendors.Notice{{Title: title, Content: content}}, e.sim.Notices(gid)); d != "" {
		t.Fatalf("notices (-want +got):\n%s", d)
	}
}

func TestPostBanner(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	b := vendors.Banner{Title: "Runbook", WebpageURL: "https://wiki.example.com/release", Content: "每周四"}
	id, err := e.c.PostBanner(context.Background(), gid, alice, b)
	if err != nil {
		t.Fatal(err)
	}
	if !IsID(id) {
		t.Fatalf("banner id %q", id)
	}
	if d := cmp.Diff([]vendors.Banner{b}, e.sim.Banners(gid)); d != "" {
		t.Fatalf("banners (-want +got):\n%s", d)
	}
}

func TestMergeHistory(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice, bob)
	mid, err := e.c.MergeHistory(context.Background(), gid, bob)
	if err != nil {
		t.Fatal(err)
	}
	if !IsID(mid) {
		t.Fatalf("merge id %q", mid)
	}
}

func TestHistoryURL(t *testing.T) {
	tests := []struct{ endpoint, mid, ws, want string }{
		{"https://www.yunzhijia.com/gateway/", "5bed0bc884aeb31c68b7c97f", "10109", "https://www.yunzhijia.com/imbu/chat/history.html?mid=5bed0bc884aeb31c68b7c97f&eid=10109"},
		{"", "m1", "", "https://www.yunzhijia.com/imbu/chat/history.html?mid=m1"},
		{"https://yzj.example.com:8443/gateway/", "m&1", "e 1", "https://yzj.example.com:8443/imbu/chat/history.html?mid=m%261&eid=e+1"},
	}
	for _, tt := range tests {
		if got := HistoryURL(tt.endpoint, tt.mid, tt.ws); got != tt.want {
			t.Errorf("HistoryURL(%q, %q, %q) = %q, want %q", tt.endpoint, tt.mid, tt.ws, got, tt.want)
		}
	}
}

func TestEmptyArgumentsMakeNoCall(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	errs := []error{
		func() error { _, err := e.c.ReadGroup(ctx, "", alice); return err }(),
		func() error { _, err := e.c.ReadGroup(ctx, gid, ""); return err }(),
		func() error { _, err := e.c.CreateGroup(ctx, vendors.CreateRequest{}); return err }(),
		e.c.AddMembers(ctx, "", alice, []string{bob}),
		func() error { _, err := e.c.PostNotice(ctx, gid, "", vendors.Notice{}); return err }(),
		func() error { _, err := e.c.PostBanner(ctx, "", alice, vendors.Banner{}); return err }(),
		func() error { _, err := e.c.MergeHistory(ctx, "", alice); return err }(),
	}
	for i, err := range errs {
		if !errors.Is(err, vendors.ErrBadRequest) {
			t.Errorf("case %d: error %v, want ErrBadRequest", i, err)
		}
	}
	if n := len(e.sim.Calls()); n != 0 {
		t.Fatalf("made %d calls", n)
	}
}

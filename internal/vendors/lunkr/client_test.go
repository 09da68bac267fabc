package lunkr

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

func TestReadGroup(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.sim.AddUser("7", "test@test.com", "真的姓名")
	id := h.sim.SeedGroup(vendors.Group{
		Name:    "测试讨论",
		Members: []vendors.LiveMember{{Email: "test10@test.com"}, {ID: "7"}, {ID: "12", Email: "test6@test.com"}},
	})
	if id != "10000" {
		t.Errorf("first seeded group id = %q, want 10000", id)
	}
	got, err := h.client.ReadGroup(ctx, id, "ignored-operator")
	if err != nil {
		t.Fatal(err)
	}
	want := vendors.Group{
		ID: id, Name: "测试讨论", Type: TypeTopic, CreateTime: fixedNow.UnixMilli(),
		Members: []vendors.LiveMember{
			{ID: "1000000", Email: "test10@test.com"}, // seeded without a name
			{ID: "7", Email: "test@test.com", Name: "真的姓名"},
			{ID: "12", Email: "test6@test.com"},
		},
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("ReadGroup (-want +got):\n%s", diff)
	}
	simView, _ := h.sim.Group(id)
	if diff := cmp.Diff(simView, *got); diff != "" {
		t.Errorf("client and simulator disagree (-sim +client):\n%s", diff)
	}
	if n := h.calls(CallInfo); n != 1 {
		t.Errorf("groups/info calls = %d, want 1", n)
	}
}

func TestCreateGroup(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Operator: "ignored", Name: "apiGroup", Members: []string{"a@example.com", "42", "A@Example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if id != "10000" {
		t.Errorf("id = %q, want 10000", id)
	}
	g, _ := h.sim.Group(id)
	want := vendors.Group{ID: id, Name: "apiGroup", Type: TypeTopic, CreateTime: fixedNow.UnixMilli(), Members: []vendors.LiveMember{
		{ID: "1000000", Email: "a@example.com", Name: "a@example.com"},
		{ID: "42", Email: "u42@sim.lunkr.invalid"},
	}}
	if diff := cmp.Diff(want, g); diff != "" {
		t.Errorf("created group (-want +got):\n%s", diff)
	}

	id2, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "广播", Type: TypeSysTopic, Members: []string{"42"}, Subscribers: []string{"b@example.com", "a@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if id2 != "10001" {
		t.Errorf("second id = %q, want 10001", id2)
	}
	read, err := h.client.ReadGroup(ctx, id2, "")
	if err != nil {
		t.Fatal(err)
	}
	if read.Type != TypeSysTopic || len(read.Members) != 1 || read.Members[0].ID != "42" {
		t.Errorf("sysTopic members (administrators) = %+v", read.Members)
	}
	var subs []string
	for _, s := range read.Subscribers {
		subs = append(subs, s.Email)
	}
	if diff := cmp.Diff([]string{"b@example.com", "a@example.com"}, subs); diff != "" {
		t.Errorf("subscribers (-want +got):\n%s", diff)
	}

	if _, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "pub", Type: TypePublic, Members: []string{"a@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if n := h.calls(CallCreate); n != 3 {
		t.Errorf("groups/create calls = %d, want 3", n)
	}
}

func TestCreateGroupRefusedLocally(t *testing.T) {
	h := newHarness(t)
	for name, req := range map[string]vendors.CreateRequest{
		"no name":             {Name: " ", Members: []string{"a@example.com"}},
		"no members":          {Name: "g"},
		"comma in id":         {Name: "g", Members: []string{"a@example.com,b@example.com"}},
		"empty id":            {Name: "g", Members: []string{"a@example.com", ""}},
		"subscribers topic":   {Name: "g", Members: []string{"a@example.com"}, Subscribers: []string{"b@example.com"}},
		"subscribers public":  {Name: "g", Type: TypePublic, Members: []string{"a@example.com"}, Subscribers: []string{"b@example.com"}},
		"comma in subscriber": {Name: "g", Type: TypeSysTopic, Members: []string{"a@example.com"}, Subscribers: []string{"b@x.com,"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.client.CreateGroup(context.Background(), req)
			vendorError(t, err, vendors.ErrBadRequest)
		})
	}
	if n := len(h.sim.Calls()); n != 0 {
		t.Errorf("refused requests made %d calls", n)
	}
}

func TestListGroups(t *testing.T) {
	for _, key := range []string{"data", "var"} {
		t.Run(key, func(t *testing.T) {
			h := newHarness(t)
			h.sim.SetListPayloadKey(key)
			ctx := context.Background()
			create := func(name, typ string, members, subscribers []string) string {
				id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: name, Type: typ, Members: members, Subscribers: subscribers})
				if err != nil {
					t.Fatal(err)
				}
				return id
			}
			sysB := create("sys-b", TypeSysTopic, []string{"b@example.com"}, []string{"a@example.com"})
			topic := create("topic", TypeTopic, []string{"a@example.com", "b@example.com"}, nil)
			create("other", TypeTopic, []string{"b@example.com"}, nil)
			public := create("public", TypePublic, []string{"a@example.com"}, nil)
			sysA := create("sys-a", TypeSysTopic, []string{"a@example.com"}, []string{"b@example.com"})

			// b@example.com was registered first (uid 1000000), a@example.com second (uid 1000001).
			for _, who := range []string{"a@example.com", "A@EXAMPLE.COM", "1000001"} {
				refs, err := h.client.ListGroups(ctx, who)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range refs {
					if r.Email == "" || !strings.HasSuffix(r.Email, "@robot.lunkr.cn") {
						t.Errorf("ref %+v: want a robot email", r)
					}
					got = append(got, r.Type+":"+r.ID+":"+r.Name+":"+strconv.Itoa(r.Role))
				}
				want := []string{
					"topic:" + topic + ":topic:0",
					"public:" + public + ":public:0",
					"sysTopic:" + sysB + ":sys-b:1",
					"sysTopic:" + sysA + ":sys-a:0",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ListGroups(%s) (-want +got):\n%s", who, diff)
				}
			}

			refs, err := h.client.ListGroups(ctx, "nobody@example.com")
			if err != nil || len(refs) != 0 {
				t.Errorf("ListGroups of a user in no group = %v, %v; want none", refs, err)
			}
		})
	}
}

func TestEmptyIDsRefusedLocally(t *testing.T) {
	h := newHarness(t)
	_, err := h.client.ReadGroup(context.Background(), "", "")
	vendorError(t, err, vendors.ErrBadRequest)
	_, err = h.client.ListGroups(context.Background(), " ")
	vendorError(t, err, vendors.ErrBadRequest)
	if n := len(h.sim.Calls()); n != 0 {
		t.Errorf("made %d requests", n)
	}
}

func TestNewDefaults(t *testing.T) {
	tr := &vendors.Transport{Vendor: "other", Token: vendors.StaticToken("p", "x")}
	New(tr)
	if tr.Vendor != Vendor || tr.BaseURL != DefaultBaseURL || tr.HTTP == nil {
		t.Errorf("New left transport %+v", tr)
	}
	tr = &vendors.Transport{BaseURL: "http://127.0.0.1:9/api"}
	c := New(tr)
	if tr.BaseURL != "http://127.0.0.1:9/api/" {
		t.Errorf("BaseURL = %q, want a final slash", tr.BaseURL)
	}
	_, err := c.ReadGroup(context.Background(), "1", "")
	vendorError(t, err, vendors.ErrUnauthorized) // no token source: no call
}

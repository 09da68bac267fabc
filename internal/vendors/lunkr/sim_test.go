package lunkr

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

// raw makes one request to the simulator and returns the status and the
// decoded envelope.
func raw(t *testing.T, h http.Handler, method, target, ctype, body string) (int, map[string]any, http.Header) {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var env map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s %s: answer %q is not JSON: %v", method, target, w.Body.String(), err)
	}
	return w.Code, env, w.Header()
}

func TestSimulatorChecksRequests(t *testing.T) {
	sim := NewSimulator(testToken)
	tok := "?accessToken=" + testToken
	const js = "application/json;charset=utf-8"
	for _, tc := range []struct {
		name, method, target, ctype, body string
		status                            int
		code                              string
	}{
		{"info by POST", "POST", "/groups/info" + tok + "&groupId=1", js, "{}", 405, CodeUnknownError},
		{"create by GET", "GET", "/groups/create" + tok, "", "", 405, CodeUnknownError},
		{"unknown call", "GET", "/groups/delete" + tok, "", "", 404, CodeUnknownError},
		{"no token", "GET", "/groups/info?groupId=1", "", "", 200, CodeInvalidToken},
		{"wrong token", "GET", "/groups/list?accessToken=nope&userId=a@b.cn", "", "", 200, CodeInvalidToken},
		{"info no groupId", "GET", "/groups/info" + tok, "", "", 400, CodeUnknownError},
		{"info unknown group", "GET", "/groups/info" + tok + "&groupId=abc", "", "", 200, CodeGroupNotFound},
		{"list no userId", "GET", "/groups/list" + tok, "", "", 400, CodeUnknownError},
		{"list malformed user", "GET", "/groups/list" + tok + "&userId=a@b", "", "", 200, CodeUserNotFound},
		{"list leading zero uid", "GET", "/groups/list" + tok + "&userId=007", "", "", 200, CodeUserNotFound},
		{"create form content type", "POST", "/groups/create" + tok, "application/x-www-form-urlencoded", "name=x", 415, CodeUnknownError},
		{"create not JSON", "POST", "/groups/create" + tok, js, "{", 400, CodeUnknownError},
		{"create array", "POST", "/groups/create" + tok, js, "[]", 400, CodeUnknownError},
		{"create members array", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"topic","members":["a@b.cn"]}`, 400, CodeUnknownError},
		{"create name number", "POST", "/groups/create" + tok, js, `{"name":1,"groupType":"topic","members":"a@b.cn"}`, 400, CodeUnknownError},
		{"create null field", "POST", "/groups/create" + tok, js, `{"name":null,"groupType":"topic","members":"a@b.cn"}`, 400, CodeUnknownError},
		{"create unknown field", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"topic","members":"a@b.cn","owner":"x"}`, 400, CodeUnknownError},
		{"create no name", "POST", "/groups/create" + tok, js, `{"groupType":"topic","members":"a@b.cn"}`, 400, CodeUnknownError},
		{"create no type", "POST", "/groups/create" + tok, js, `{"name":"g","members":"a@b.cn"}`, 400, CodeUnknownError},
		{"create no members", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"topic","members":" , "}`, 400, CodeUnknownError},
		{"create subscribers on topic", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"topic","members":"a@b.cn","subscribers":"c@b.cn"}`, 400, CodeUnknownError},
		{"create bad type", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"TOPIC","members":"a@b.cn"}`, 200, CodeBadGroupType},
		{"create bad member", "POST", "/groups/create" + tok, js, `{"name":"g","groupType":"topic","members":"a@b.cn,bob"}`, 200, CodeUserNotFound},
		{"create ok", "POST", "/groups/create" + tok, "application/json", `{"name":"g","groupType":"topic","members":"a@b.cn, 5"}`, 200, CodeOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env, hdr := raw(t, sim, tc.method, tc.target, tc.ctype, tc.body)
			if status != tc.status || env["code"] != tc.code {
				t.Errorf("answer %d %v, want %d code %s", status, env, tc.status, tc.code)
			}
			if status == 405 && hdr.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
		})
	}
	if gs := sim.Groups(); len(gs) != 1 {
		t.Errorf("only the valid create may be applied; groups = %+v", gs)
	}
	if n := sim.Calls()[CallCreate]; n != 15 {
		t.Errorf("create calls = %d, want 15 (every request counted)", n)
	}
	if n := sim.Calls()["groups/delete"]; n != 1 {
		t.Errorf("unknown call counted %d times, want 1", n)
	}
	sim.ResetCalls()
	if len(sim.Calls()) != 0 {
		t.Errorf("ResetCalls left %v", sim.Calls())
	}
}

func TestSimulatorAnyTokenWhenNoneGiven(t *testing.T) {
	sim := NewSimulator()
	if _, env, _ := raw(t, sim, "GET", "/groups/list?accessToken=whatever&userId=1", "", ""); env["code"] != CodeOK {
		t.Errorf("any token: %v", env)
	}
	if _, env, _ := raw(t, sim, "GET", "/groups/list?userId=1", "", ""); env["code"] != CodeInvalidToken {
		t.Errorf("no token: %v", env)
	}
}

func TestSimulatorPrefixedPaths(t *testing.T) {
	sim := NewSimulator(testToken)
	if _, env, _ := raw(t, sim, "GET", "/lunkr/api/groups/list?accessToken="+testToken+"&userId=1", "", ""); env["code"] != CodeOK {
		t.Errorf("prefixed path: %v", env)
	}
	if sim.Calls()[CallList] != 1 {
		t.Errorf("calls = %v", sim.Calls())
	}
}

func TestSimulatorUsers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.sim.AddUser("7", "Alice@Example.com", "Alice")
	h.sim.RejectUser("blocked@example.com")
	id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{"alice@example.com", "ALICE@example.com", "7", "bob@example.com", "31"}})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := h.sim.Group(id)
	want := []vendors.LiveMember{
		{ID: "7", Email: "Alice@Example.com", Name: "Alice"},
		{ID: "1000000", Email: "bob@example.com", Name: "bob@example.com"},
		{ID: "31", Email: "u31@sim.lunkr.invalid"},
	}
	if diff := cmp.Diff(want, g.Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	// Group ids are no user's uid: a group id named as a user is not found.
	_, err = h.client.ListGroups(ctx, id)
	vendorError(t, err, vendors.ErrBadRequest)
	// A rejected user is rejected by uid too once known.
	h.sim.AddUser("55", "blocked@example.com", "")
	_, err = h.client.ListGroups(ctx, "55")
	vendorError(t, err, vendors.ErrBadRequest)
	// Auto-registered uids never collide with group ids.
	h.sim.SeedGroup(vendors.Group{ID: "1000001", Name: "high id", Members: members("x@example.com")})
	g2, _ := h.sim.Group("1000001")
	if g2.Members[0].ID == "1000001" {
		t.Errorf("user got the uid of a group: %+v", g2)
	}
}

func TestSimulatorDrift(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Type: TypeSysTopic, Members: []string{"a@example.com"}, Subscribers: []string{"b@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	h.sim.AddMember(id, "c@example.com")
	h.sim.RemoveMember(id, "B@example.com")
	g, err := h.client.ReadGroup(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 2 || g.Members[1].Email != "c@example.com" || len(g.Subscribers) != 0 {
		t.Errorf("after drift: %+v", g)
	}
	refs, _ := h.client.ListGroups(ctx, "b@example.com")
	if len(refs) != 0 {
		t.Errorf("removed subscriber still lists %+v", refs)
	}
	h.sim.DeleteGroup(id)
	_, err = h.client.ReadGroup(ctx, id, "")
	vendorError(t, err, vendors.ErrNotFound)
	refs, _ = h.client.ListGroups(ctx, "a@example.com")
	if len(refs) != 0 {
		t.Errorf("deleted group still listed: %+v", refs)
	}
	// Ids are not reused after a deletion.
	id2, _ := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g2", Members: []string{"a@example.com"}})
	if id2 == id {
		t.Errorf("id %s reused", id)
	}
}

func TestSimulatorSnapshotRestore(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.sim.AddUser("7", "seven@example.com", "Seven")
	for i := range 3 {
		if _, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: fmt.Sprint("g", i), Type: TypeSysTopic, Members: []string{"7"}, Subscribers: []string{fmt.Sprintf("s%d@example.com", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := h.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), testToken) {
		t.Error("snapshot holds the token")
	}
	other := NewSimulator("other")
	other.SetNow(func() time.Time { return fixedNow })
	if err := other.Restore(data); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.sim.Groups(), other.Groups()); diff != "" {
		t.Errorf("restored groups (-saved +restored):\n%s", diff)
	}
	again, _ := other.Snapshot()
	if string(again) != string(data) {
		t.Errorf("snapshot of the restored world differs:\n%s\n%s", data, again)
	}
	// The counters carry on where they were.
	want, _ := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "next", Members: []string{"new@example.com"}})
	h2 := serve(t, other, vendors.StaticToken("t", "other"))
	got, _ := h2.client.CreateGroup(ctx, vendors.CreateRequest{Name: "next", Members: []string{"new@example.com"}})
	if got != want {
		t.Errorf("restored counter gave %s, want %s", got, want)
	}
	ga, _ := h.sim.Group(want)
	gb, _ := other.Group(got)
	if !cmp.Equal(ga, gb) {
		t.Errorf("restored user counter differs: %+v vs %+v", ga, gb)
	}

	before, _ := other.Snapshot()
	for _, bad := range []string{
		`not json`,
		`{"version":2}`,
		`{"version":1,"users":[{"uid":"1","email":"a@x.cn"},{"uid":"1","email":"b@x.cn"}]}`,
		`{"version":1,"groups":[{"id":"10000","name":"g","type":"topic","members":["404"]}]}`,
	} {
		if err := other.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s) succeeded", bad)
		}
	}
	if after, _ := other.Snapshot(); string(after) != string(before) {
		t.Error("a refused Restore changed the world")
	}
}

func TestSimulatorFaults(t *testing.T) {
	sim := NewSimulator(testToken)
	list := "/groups/list?accessToken=" + testToken + "&userId=1"
	count := func(n int) map[int]int {
		out := map[int]int{}
		for range n {
			status, _, hdr := raw(t, sim, "GET", list, "", "")
			out[status]++
			if status == 429 && hdr.Get("Retry-After") == "" || status == 503 && hdr.Get("Retry-After") != "1" {
				t.Fatalf("status %d with Retry-After %q", status, hdr.Get("Retry-After"))
			}
		}
		return out
	}

	sim.SetFaults(Faults{Status503Rate: 0.3, Status429Rate: 0.2, Seed: 7})
	first := count(400)
	sim.SetFaults(Faults{Status503Rate: 0.3, Status429Rate: 0.2, Seed: 7})
	if second := count(400); !cmp.Equal(first, second) {
		t.Errorf("same seed, different draws: %v vs %v", first, second)
	}
	if first[429] < 40 || first[429] > 120 || first[503] < 70 || first[503] > 200 || first[200] < 150 {
		t.Errorf("fault shares off: %v", first)
	}

	sim.SetFaults(Faults{Status503Rate: 1, Calls: []string{CallInfo}})
	if c := count(5); c[200] != 5 {
		t.Errorf("faults limited to groups/info hit groups/list: %v", c)
	}

	sim.SetFaults(Faults{RateLimit: 2})
	if c := count(10); c[200] < 2 || c[200] > 4 || c[429] < 6 {
		t.Errorf("rate limit 2/s over a burst of 10: %v", c)
	}

	sim.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	count(1)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency %v, want >= 30ms", d)
	}

	// Lost answers and drops are for writes only.
	sim.SetFaults(Faults{LoseAnswerRate: 1, DropRate: 1})
	if c := count(3); c[200] != 3 {
		t.Errorf("write faults hit a read: %v", c)
	}
}

func TestSimulatorConcurrent(t *testing.T) {
	h := newHarness(t)
	h.sim.SetFaults(Faults{Status503Rate: 0.2, Status429Rate: 0.1, Seed: 1})
	h.tr.MaxAttempts = 30 // 30% faults: never give up in this test
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	ids := make(chan string, 64)
	for i := range 16 {
		wg.Go(func() {
			for j := range 4 {
				id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("shared%d@example.com", j)}})
				if err != nil {
					errs <- err
					return
				}
				ids <- id
				if _, err := h.client.ReadGroup(ctx, id, ""); err != nil {
					errs <- err
				}
				if _, err := h.client.ListGroups(ctx, "shared0@example.com"); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Error(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("id %s handed out twice", id)
		}
		seen[id] = true
	}
	if len(h.sim.Groups()) != len(seen) {
		t.Errorf("%d groups for %d creates", len(h.sim.Groups()), len(seen))
	}
}

// TestSimulatorScale seeds 10,000 groups of 200 members and checks that
// reads stay fast: the world is indexed, never scanned.
func TestSimulatorScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds two million memberships")
	}
	sim := NewSimulator(testToken)
	start := time.Now()
	seedScale(sim, 10000, 200, 20000)
	seeded := time.Since(start)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + path + "&accessToken=" + testToken)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	start = time.Now()
	for i := range 100 {
		if b := get(fmt.Sprintf("/groups/info?groupId=%d", 10000+i*97)); !strings.Contains(string(b), `"memberCount":200`) {
			t.Fatalf("info: %.200s", b)
		}
		get(fmt.Sprintf("/groups/list?userId=u%d@example.com", i*131))
	}
	reads := time.Since(start)
	t.Logf("seeded in %v; 100 info + 100 list in %v", seeded, reads)
	if reads > 10*time.Second {
		t.Errorf("200 reads took %v", reads)
	}
	if n := len(sim.Groups()); n != 10000 {
		t.Errorf("groups = %d", n)
	}
}

// seedScale seeds groups of size members drawn from a pool of users.
func seedScale(sim *Simulator, groups, size, pool int) {
	for g := range groups {
		ms := make([]vendors.LiveMember, size)
		for m := range size {
			ms[m] = vendors.LiveMember{Email: fmt.Sprintf("u%d@example.com", (g*size+m*7)%pool)}
		}
		sim.SeedGroup(vendors.Group{Name: fmt.Sprint("group ", g), Members: ms, CreateTime: fixedNow.UnixMilli()})
	}
}

func BenchmarkSimulatorInfo(b *testing.B) {
	sim := NewSimulator(testToken)
	seedScale(sim, 10000, 200, 20000)
	target := "/groups/info?accessToken=" + testToken + "&groupId=15000"
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		sim.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	}
}

func BenchmarkSimulatorCreate(b *testing.B) {
	sim := NewSimulator(testToken)
	seedScale(sim, 10000, 200, 20000)
	var body strings.Builder
	body.WriteString(`{"name":"bench","groupType":"topic","members":"`)
	for m := range 200 {
		if m > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, "u%d@example.com", m*13)
	}
	body.WriteString(`"}`)
	target := "/groups/create?accessToken=" + testToken
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("POST", target, strings.NewReader(body.String()))
		r.Header.Set("Content-Type", "application/json")
		sim.ServeHTTP(httptest.NewRecorder(), r)
	}
}

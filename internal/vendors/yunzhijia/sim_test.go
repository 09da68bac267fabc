package yunzhijia

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

type rawAnswer struct {
	status int
	body   map[string]any
	header http.Header
}

// post sends a raw request to the simulator.
func post(t *testing.T, srv *httptest.Server, method, path, token, ctype, body string) rawAnswer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path+"?accessToken="+url.QueryEscape(token), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := rawAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("answer %q is not a JSON object: %v", b, err)
	}
	return a
}

func (a rawAnswer) code() int {
	n, _ := a.body["errorCode"].(float64)
	return int(n)
}

func TestSimulatorChecks(t *testing.T) {
	sim := NewSimulator(tok)
	seedGroup(sim, gid, "g", []string{alice}, alice, bob)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	const js = "application/json"
	createPath := "/" + pathCreateGroup
	ok := `{"currentUid":"` + alice + `","userIds":["` + bob + `"]}`
	notice := func(title, content string) string {
		b, _ := json.Marshal(map[string]string{"currentUid": alice, "groupId": gid, "title": title, "content": content})
		return string(b)
	}
	tests := []struct {
		name                      string
		method, path, token, ct   string
		body                      string
		wantStatus, wantErrorCode int
	}{
		{"ok", "POST", createPath, tok, js, ok, 200, 0},
		{"under /gateway", "POST", "/gateway" + createPath, tok, js, ok, 200, 0},
		{"charset parameter", "POST", createPath, tok, "application/json; charset=utf-8", ok, 200, 0},
		{"unknown path", "POST", "/xtinterface/group/deleteGroup", tok, js, ok, 404, 404},
		{"GET", "GET", createPath, tok, js, "", 405, 405},
		{"form body", "POST", createPath, tok, "application/x-www-form-urlencoded", ok, 415, 415},
		{"no content type", "POST", createPath, tok, "", ok, 415, 415},
		{"bad token", "POST", createPath, "TOK-nope", js, ok, 200, CodeInvalidToken},
		{"no token", "POST", createPath, "", js, ok, 200, CodeInvalidToken},
		{"not JSON", "POST", createPath, tok, js, `currentUid=x`, 200, CodeBadParam},
		{"array body", "POST", createPath, tok, js, `[]`, 200, CodeBadParam},
		{"no currentUid", "POST", createPath, tok, js, `{"userIds":[]}`, 200, CodeBadParam},
		{"currentUid not hex", "POST", createPath, tok, js, `{"currentUid":"alice","userIds":[]}`, 200, CodeBadParam},
		{"currentUid a number", "POST", createPath, tok, js, `{"currentUid":5,"userIds":[]}`, 200, CodeBadParam},
		{"no userIds", "POST", createPath, tok, js, `{"currentUid":"` + alice + `"}`, 200, CodeBadParam},
		{"userIds null", "POST", createPath, tok, js, `{"currentUid":"` + alice + `","userIds":null}`, 200, CodeBadParam},
		{"userIds a string", "POST", createPath, tok, js, `{"currentUid":"` + alice + `","userIds":"` + bob + `"}`, 200, CodeBadParam},
		{"userIds empty", "POST", createPath, tok, js, `{"currentUid":"` + alice + `","userIds":[]}`, 200, 0},
		{"groupName a number", "POST", createPath, tok, js, `{"currentUid":"` + alice + `","groupName":1,"userIds":[]}`, 200, CodeBadParam},
		{"unknown field", "POST", createPath, tok, js, `{"currentUid":"` + alice + `","userIds":[],"owner":"x"}`, 200, CodeBadParam},
		{"field in the wrong case", "POST", createPath, tok, js, `{"currentUID":"` + alice + `","userIds":[]}`, 200, CodeBadParam},
		{"notice 40/2000 characters", "POST", "/" + pathNotice, tok, js, notice(strings.Repeat("公", 40), strings.Repeat("告", 2000)), 200, 0},
		{"notice title 41", "POST", "/" + pathNotice, tok, js, notice(strings.Repeat("公", 41), "c"), 200, CodeBadParam},
		{"notice content 2001", "POST", "/" + pathNotice, tok, js, notice("t", strings.Repeat("告", 2001)), 200, CodeBadParam},
		{"notice empty content", "POST", "/" + pathNotice, tok, js, notice("t", ""), 200, CodeBadParam},
		{"banner without params", "POST", "/" + pathBanner, tok, js, `{"currentUid":"` + alice + `","groupId":"` + gid + `"}`, 200, CodeBadParam},
		{"banner unknown param", "POST", "/" + pathBanner, tok, js, `{"currentUid":"` + alice + `","groupId":"` + gid + `","params":{"url":"x"}}`, 200, CodeBadParam},
		{"banner empty params", "POST", "/" + pathBanner, tok, js, `{"currentUid":"` + alice + `","groupId":"` + gid + `","params":{}}`, 200, 0},
		{"read without groupId", "POST", "/" + pathGroupUsers, tok, js, `{"currentUid":"` + alice + `"}`, 200, CodeBadParam},
		{"read unknown group", "POST", "/" + pathGroupUsers, tok, js, `{"currentUid":"` + alice + `","groupId":"x"}`, 200, CodeGroupNotFound},
		{"read as outsider", "POST", "/" + pathGroupUsers, tok, js, `{"currentUid":"` + carol + `","groupId":"` + gid + `"}`, 200, CodeNoPermission},
		{"add as outsider", "POST", "/" + pathAddGroupUser, tok, js, `{"currentUid":"` + carol + `","groupId":"` + gid + `","userIds":["` + dave + `"]}`, 200, CodeNoPermission},
		{"merge ok", "POST", "/" + pathMerge, tok, js, `{"currentUid":"` + bob + `","groupId":"` + gid + `"}`, 200, CodeMergeOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, srv, tt.method, tt.path, tt.token, tt.ct, tt.body)
			if a.status != tt.wantStatus || a.code() != tt.wantErrorCode {
				t.Fatalf("status %d errorCode %d (%v), want %d %d", a.status, a.code(), a.body, tt.wantStatus, tt.wantErrorCode)
			}
			wantSuccess := tt.wantErrorCode == 0 || tt.wantErrorCode == CodeMergeOK
			if a.body["success"] != wantSuccess {
				t.Fatalf("success %v, want %v", a.body["success"], wantSuccess)
			}
			if !wantSuccess {
				if msg, _ := a.body["error"].(string); msg == "" {
					t.Fatalf("failure without an error message: %v", a.body)
				}
			}
		})
	}
}

func TestSimulatorFailureEnvelope(t *testing.T) {
	sim := NewSimulator(tok)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	a := post(t, srv, "POST", "/"+pathGroupUsers, tok, "application/json", `{"currentUid":"`+alice+`","groupId":"nope"}`)
	want := map[string]any{"success": false, "data": nil, "error": "group nope not found", "errorCode": float64(CodeGroupNotFound)}
	if d := cmp.Diff(want, a.body); d != "" {
		t.Fatalf("answer (-want +got):\n%s", d)
	}
}

func TestSimulatorFaultAnswers(t *testing.T) {
	sim := NewSimulator(tok)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	body := `{"currentUid":"` + alice + `","userIds":[]}`
	sim.SetFaults(Faults{Status503Rate: 1})
	a := post(t, srv, "POST", "/"+pathCreateGroup, tok, "application/json", body)
	if a.status != 503 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("503 fault: status %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	sim.SetFaults(Faults{Status429Rate: 1})
	a = post(t, srv, "POST", "/"+pathCreateGroup, tok, "application/json", body)
	if a.status != 429 || a.header.Get("Retry-After") != "0" {
		t.Fatalf("429 fault: status %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	// Faults limited to other calls leave this one alone.
	sim.SetFaults(Faults{Status503Rate: 1, Calls: []string{CallNotice}})
	if a = post(t, srv, "POST", "/"+pathCreateGroup, tok, "application/json", body); a.status != 200 {
		t.Fatalf("fault for notice/create hit createGroup: %d", a.status)
	}
	if n := len(sim.Groups()); n != 1 {
		t.Fatalf("%d groups, want 1 (refused calls are not applied)", n)
	}
	if got := sim.Calls(); got[CallCreateGroup] != 3 {
		t.Fatalf("calls %v, want 3 createGroup (faulted ones count)", got)
	}
	sim.ResetCalls()
	if got := sim.Calls(); len(got) != 0 {
		t.Fatalf("calls after reset %v", got)
	}
}

func TestSimulatorFaultRatesAreSeeded(t *testing.T) {
	run := func() []int {
		sim := NewSimulator(tok)
		srv := httptest.NewServer(sim)
		defer srv.Close()
		sim.SetFaults(Faults{Status503Rate: 0.5, Seed: 42})
		var out []int
		for range 20 {
			out = append(out, post(t, srv, "POST", "/"+pathCreateGroup, tok, "application/json", `{"currentUid":"`+alice+`","userIds":[]}`).status)
		}
		return out
	}
	a, b := run(), run()
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("same seed, different faults:\n%s", d)
	}
	n503 := 0
	for _, s := range a {
		if s == 503 {
			n503++
		}
	}
	if n503 == 0 || n503 == len(a) {
		t.Fatalf("statuses %v, want a mix at rate 0.5", a)
	}
}

func TestSimulatorLatency(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	e.sim.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	if _, err := e.c.ReadGroup(context.Background(), gid, alice); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("call took %v, want at least the latency", d)
	}
}

func TestSimulatorWorld(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.seed(gid, alice, bob)
	e.sim.AddMember(gid, carol)
	e.sim.RemoveMember(gid, bob)
	g, err := e.c.ReadGroup(ctx, gid, alice)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{alice, carol}, memberIDs(*g)); d != "" {
		t.Fatalf("members (-want +got):\n%s", d)
	}
	// A removed manager is no longer one.
	e.sim.RemoveMember(gid, alice)
	if g, _ := e.sim.Group(gid); len(g.Managers) != 0 {
		t.Fatalf("managers %v after removing the manager", g.Managers)
	}
	e.sim.DeleteGroup(gid)
	if _, ok := e.sim.Group(gid); ok {
		t.Fatal("deleted group still there")
	}
	if _, err := e.c.ReadGroup(ctx, gid, carol); err == nil || !strings.Contains(err.Error(), "code 410") {
		t.Fatalf("read of a deleted group: %v, want code 410", err)
	}
	// Seeding the id again brings the group back.
	e.seed(gid, alice)
	if _, err := e.c.ReadGroup(ctx, gid, alice); err != nil {
		t.Fatal(err)
	}
	e.seed("5c0000000000000000000002", bob)
	var ids []string
	for _, g := range e.sim.Groups() {
		ids = append(ids, g.ID)
	}
	if d := cmp.Diff([]string{"5bee7172e4b0f6bbaa32b4bf", "5c0000000000000000000002"}, ids); d != "" {
		t.Fatalf("Groups not sorted by id (-want +got):\n%s", d)
	}
}

func TestSimulatorSnapshotRestore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice, Name: "发布", Members: []string{bob}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PostNotice(ctx, id, alice, vendors.Notice{Title: "窗口", Content: "周四"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PostBanner(ctx, id, alice, vendors.Banner{Title: "Runbook", WebpageURL: "https://wiki"}); err != nil {
		t.Fatal(err)
	}
	e.seed(gid, carol)
	e.sim.DeleteGroup(gid)
	snap, err := e.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), tok) {
		t.Fatal("snapshot holds the token")
	}

	// A new simulator with the world restored answers the same, and goes on
	// counting ids where the old one stopped.
	e2 := newEnv(t)
	if err := e2.sim.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(e.sim.Groups(), e2.sim.Groups()); d != "" {
		t.Fatalf("groups (-before +after):\n%s", d)
	}
	if d := cmp.Diff(e.sim.Notices(id), e2.sim.Notices(id)); d != "" {
		t.Fatalf("notices (-before +after):\n%s", d)
	}
	if d := cmp.Diff(e.sim.Banners(id), e2.sim.Banners(id)); d != "" {
		t.Fatalf("banners (-before +after):\n%s", d)
	}
	if _, err := e2.c.ReadGroup(ctx, gid, carol); err == nil || !strings.Contains(err.Error(), "code 410") {
		t.Fatalf("dismissed group after restore: %v, want code 410", err)
	}
	id1, _ := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	id2, _ := e2.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	if id1 != id2 || id1 == id {
		t.Fatalf("next ids %s and %s, want the same new id", id1, id2)
	}
	snap2, _ := e2.sim.Snapshot()
	if err := e2.sim.Restore(snap2); err != nil {
		t.Fatal(err)
	}
	if again, _ := e2.sim.Snapshot(); string(again) != string(snap2) {
		t.Fatal("snapshot of a restored snapshot differs")
	}

	for _, bad := range []string{`{`, `{"version":2}`, `{"version":1,"groups":[{"id":""}]}`, `{"version":1,"groups":[{"id":"a"},{"id":"a"}]}`} {
		if err := e2.sim.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%s) accepted", bad)
		}
	}
	if len(e2.sim.Groups()) != 2 {
		t.Fatal("a failed restore changed the world")
	}
}

func TestSimulatorConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 40)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice, Members: []string{bob}})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = id
			if err := e.c.AddMembers(ctx, id, alice, []string{carol, dave}); err != nil {
				t.Error(err)
			}
			if _, err := e.c.ReadGroup(ctx, id, carol); err != nil {
				t.Error(err)
			}
			e.sim.Snapshot()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %s handed out twice", id)
		}
		seen[id] = true
	}
	if n := len(e.sim.Groups()); n != len(ids) {
		t.Fatalf("%d groups, want %d", n, len(ids))
	}
}

// seedLarge fills a simulator with groups of members.
func seedLarge(s *Simulator, groups, members int) {
	for i := range groups {
		g := vendors.Group{ID: fmt.Sprintf("5c%022x", i), Managers: []string{fmt.Sprintf("5b%022x", i)}, Members: make([]vendors.LiveMember, members)}
		for j := range members {
			g.Members[j] = vendors.LiveMember{ID: fmt.Sprintf("5b%022x", i+j)}
		}
		s.SeedGroup(g)
	}
}

// TestSimulatorScale: 10,000 groups of 200 members stay cheap to build,
// read, grow and snapshot. Under the race detector (make test), which slows
// it tenfold, the same steps run on a tenth of the groups and members, so
// that the simulator's concurrency is checked there too.
func TestSimulatorScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large world (skipped with -short)")
	}
	groups, members := 10000, 200
	if raceEnabled {
		groups, members = 1000, 20
	}
	start := time.Now()
	sim := NewSimulator(tok)
	seedLarge(sim, groups, members)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := New(newTransport(srv.URL+"/", vendors.StaticToken("kingdee", tok), noSleep))
	ctx := context.Background()
	for i := 0; i < groups; i += 97 {
		id, op := fmt.Sprintf("5c%022x", i), fmt.Sprintf("5b%022x", i)
		g, err := c.ReadGroup(ctx, id, op)
		if err != nil || len(g.Members) != members {
			t.Fatalf("read %s: %v", id, err)
		}
		if err := c.AddMembers(ctx, id, op, []string{fmt.Sprintf("5d%022x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewSimulator().Restore(snap); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d groups x %d members: seed, %d calls, snapshot (%d MB), restore in %v", groups, members, 2*((groups+96)/97), len(snap)>>20, time.Since(start))
}

func BenchmarkSimulatorReadGroup(b *testing.B) {
	sim := NewSimulator(tok)
	seedLarge(sim, 10000, 200)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	c := New(newTransport(srv.URL+"/", vendors.StaticToken("kingdee", tok), noSleep))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		n := i % 10000
		if _, err := c.ReadGroup(ctx, fmt.Sprintf("5c%022x", n), fmt.Sprintf("5b%022x", n)); err != nil {
			b.Fatal(err)
		}
	}
}

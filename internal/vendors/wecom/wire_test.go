package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/simfault"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// recorder answers every request with body and records the requests.
type recorder struct {
	mu   sync.Mutex
	body []byte
	reqs []string
}

func (s *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type")+"\n"+string(b)+"\n")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(s.body)
}

func testClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return New(&vendors.Transport{BaseURL: srv.URL + "/cgi-bin/", HTTP: vendors.NewHTTPClient(5 * time.Second),
		Token: vendors.StaticToken("test", "TOKEN"), MaxAttempts: 3, BackoffBase: time.Millisecond,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
}

// TestGoldenWire: the requests the client sends and what it makes of the
// pages' example answers.
func TestGoldenWire(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	c := testClient(t, rec)

	rec.body = fixture(t, "get_response.json")
	g, err := c.ReadGroup(ctx, "CHATID", "")
	if err != nil {
		t.Fatal(err)
	}
	want := &vendors.Group{ID: "CHATID", Name: "NAME", Owner: "userid2", Managers: []string{"userid2"},
		Members: []vendors.LiveMember{{ID: "userid1"}, {ID: "userid2"}, {ID: "userid3"}}}
	if d := cmp.Diff(want, g); d != "" {
		t.Errorf("read (-want +got):\n%s", d)
	}

	rec.body = fixture(t, "create_response.json")
	id, err := c.CreateGroup(ctx, vendors.CreateRequest{ID: "CHATID", Name: "NAME", Owner: "userid1", Members: []string{"userid2", "userid3"}})
	if err != nil || id != "CHATID" {
		t.Fatalf("create: %q, %v", id, err)
	}

	rec.body = fixture(t, "update_response.json")
	if err := c.UpdateGroup(ctx, "CHATID", "", vendors.GroupUpdate{Name: "NAME2", Owner: "userid2", Add: []string{"userid4"}, Remove: []string{"userid1"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddMembers(ctx, "CHATID", "", []string{"userid5"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "requests.golden", strings.Join(rec.reqs, ""))
}

// TestGettoken: corpId and corpSecret in the query; the page's answer is a
// grant of its lifetime; a refused secret is ErrBadCredentials.
func TestGettoken(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Path + "?" + r.URL.RawQuery
		if r.URL.Query().Get("corpsecret") != "s3cret" {
			_, _ = w.Write([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
			return
		}
		_, _ = w.Write(fixture(t, "gettoken_response.json"))
	}))
	defer srv.Close()
	req := vendors.FetchRequest{HTTP: srv.Client(), Endpoint: srv.URL + "/cgi-bin/", Credentials: vendors.Credentials{"corpId": "ww1", "corpSecret": "s3cret"}}
	g, err := Auth.Fetch(context.Background(), req)
	if err != nil || g.Token != "accesstoken000001" || g.Lifetime != 7200*time.Second {
		t.Fatalf("grant %+v, %v", g, err)
	}
	if query != "/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cret" {
		t.Errorf("request %s", query)
	}
	req.Credentials = vendors.Credentials{"corpId": "ww1", "corpSecret": "wrong"}
	_, err = Auth.Fetch(context.Background(), req)
	if !errors.Is(err, vendors.ErrBadCredentials) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("refused secret: %v", err)
	}
}

// TestCodes: each documented errcode is its kind; 45009 and -1 are retried
// (refused, not made) and a write is made once; an unknown code on
// appchat/get is never "not found"; a duplicate chatid on a create is an
// unknown outcome (an earlier send landed).
func TestCodes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		code int
		kind error
	}{
		{CodeNoPermission, vendors.ErrNoPermission},
		{CodeChatNotFound, vendors.ErrNotFound},
		{86999, vendors.ErrVendor},
		{CodeBadUser, vendors.ErrBadRequest},
		{CodeInvalidToken, vendors.ErrUnauthorized},
		{CodeTokenExpired, vendors.ErrUnauthorized},
	} {
		sim := NewSimulator("TOKEN")
		c := testClient(t, sim)
		sim.ForceCodes(CallGet, tc.code, tc.code, tc.code)
		_, err := c.ReadGroup(ctx, "CHATID", "")
		var ve *vendors.Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &ve) {
			t.Errorf("errcode %d: %v, want %v", tc.code, err, tc.kind)
		}
	}

	for _, code := range []int{CodeRateLimited, CodeBusy} {
		sim := NewSimulator("TOKEN")
		c := testClient(t, sim)
		sim.ForceCodes(CallCreate, code)
		id, err := c.CreateGroup(ctx, vendors.CreateRequest{ID: "abc", Name: "n", Owner: "a", Members: []string{"b"}})
		if err != nil || id != "abc" || sim.Calls()[CallCreate] != 2 || len(sim.Groups()) != 1 {
			t.Errorf("errcode %d on create: %q, %v, %d calls: want retried and made once", code, id, err, sim.Calls()[CallCreate])
		}
	}

	sim := NewSimulator("TOKEN")
	c := testClient(t, sim)
	req := vendors.CreateRequest{ID: "abc", Name: "n", Owner: "a", Members: []string{"b"}}
	if _, err := c.CreateGroup(ctx, req); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateGroup(ctx, req)
	if !errors.Is(err, vendors.ErrUnknownOutcome) || len(sim.Groups()) != 1 {
		t.Errorf("second create of one chatid: %v, %d chats", err, len(sim.Groups()))
	}
	sim.SeedForeign("theirs")
	_, err = c.ReadGroup(ctx, "theirs", "")
	if !errors.Is(err, vendors.ErrNoPermission) || !strings.Contains(err.Error(), "only chats made by this app") {
		t.Errorf("another app's chat: %v", err)
	}
}

// TestSimulatorRules: the pages' rules, as the simulator keeps them.
func TestSimulatorRules(t *testing.T) {
	ctx := context.Background()
	sim := NewSimulator("TOKEN")
	c := testClient(t, sim)
	long := strings.Repeat("名", 60)
	for _, tc := range []struct {
		name string
		req  createBody
		code int
	}{
		{"chatid charset", createBody{ChatID: "bad-id", Owner: "a", UserList: []string{"a", "b"}}, CodeBadChatID},
		{"chatid length", createBody{ChatID: strings.Repeat("a", 33), Owner: "a", UserList: []string{"a", "b"}}, CodeBadChatID},
		{"one member", createBody{ChatID: "c1", Owner: "a", UserList: []string{"a"}}, CodeBadMembers},
		{"owner not a member", createBody{ChatID: "c2", Owner: "z", UserList: []string{"a", "b"}}, CodeBadOwner},
		{"made", createBody{ChatID: "c3", Name: long, Owner: "a", UserList: []string{"a", "b"}}, CodeOK},
		{"duplicate chatid", createBody{ChatID: "c3", Owner: "a", UserList: []string{"a", "b"}}, CodeChatIDExists},
	} {
		ans := sim.create(nil, mustJSON(t, tc.req))
		if ans["errcode"] != tc.code {
			t.Errorf("%s: %v, want errcode %d", tc.name, ans, tc.code)
		}
	}
	if g, _ := sim.Group("c3"); len([]rune(g.Name)) != MaxNameLen {
		t.Errorf("name not cut at %d: %q", MaxNameLen, g.Name)
	}
	many := make([]string, MaxMembers)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + itoa(i)
	}
	if ans := sim.update(nil, mustJSON(t, updateBody{ChatID: "c3", AddUserList: many})); ans["errcode"] != CodeBadMembers {
		t.Errorf("2,001 members: %v", ans)
	}

	// Token lifetime: a token past its expires_in is 42001, then fetched again.
	now := time.Now()
	sim.SetClock(func() time.Time { return now })
	sim.SetAuth("ww1", "sec", time.Hour)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ts := vendors.AuthToken("p", Auth, srv.URL+"/", vendors.Credentials{"corpId": "ww1", "corpSecret": "sec"})
	ts.HTTP = srv.Client()
	ac := New(&vendors.Transport{BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: ts})
	if _, err := ac.ReadGroup(ctx, "c3", ""); err != nil {
		t.Fatal(err)
	}
	sim.mu.Lock()
	for tok := range sim.issued {
		if ok, expired := sim.tokenAcceptedLocked(tok); !ok || expired {
			t.Error("a fresh token is refused")
		}
		sim.now = func() time.Time { return now.Add(2 * time.Hour) }
		if _, expired := sim.tokenAcceptedLocked(tok); !expired {
			t.Error("a token past its lifetime is accepted")
		}
	}
	sim.mu.Unlock()

	// Daily creates and hourly changes.
	lim := NewSimulator()
	for i := range CreatesPerDay {
		lim.creates[day(lim.now())] = i
	}
	lim.creates[day(lim.now())] = CreatesPerDay
	if ans := lim.create(nil, mustJSON(t, createBody{ChatID: "x", Owner: "a", UserList: []string{"a", "b"}})); ans["errcode"] != CodeLimitExceeded {
		t.Errorf("create past the daily limit: %v", ans)
	}
	lim.SeedGroup(vendors.Group{ID: "y", Members: []vendors.LiveMember{{ID: "a"}, {ID: "b"}}})
	lim.changes[hour(lim.now())] = ChangesPerHour
	if ans := lim.update(nil, mustJSON(t, updateBody{ChatID: "y", Name: "n"})); ans["errcode"] != CodeLimitExceeded {
		t.Errorf("change past the hourly limit: %v", ans)
	}
	_ = c
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// TestExpiredTokenFetchedAgain: a token the vendor says expired (42001) is
// fetched again once, and the read retried with the new one.
func TestExpiredTokenFetchedAgain(t *testing.T) {
	sim := NewSimulator()
	now := time.Now()
	sim.SetClock(func() time.Time { return now })
	sim.SetAuth("ww1", "sec", time.Hour)
	sim.SeedGroup(vendors.Group{ID: "c1", Members: []vendors.LiveMember{{ID: "a"}, {ID: "b"}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	ts := vendors.AuthToken("p", Auth, srv.URL+"/", vendors.Credentials{"corpId": "ww1", "corpSecret": "sec"})
	ts.HTTP = srv.Client()
	c := New(&vendors.Transport{BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: ts})
	ctx := context.Background()
	if _, err := c.ReadGroup(ctx, "c1", ""); err != nil {
		t.Fatal(err)
	}
	sim.SetClock(func() time.Time { return now.Add(2 * time.Hour) }) // past expires_in, by the vendor's clock
	if _, err := c.ReadGroup(ctx, "c1", ""); err != nil {
		t.Fatalf("read after the token expired: %v", err)
	}
	if n, reads := sim.Calls()[CallToken], sim.Calls()[CallGet]; n != 2 || reads != 3 {
		t.Errorf("gettoken %d, appchat/get %d: want 2 and 3 (one refused for 42001)", n, reads)
	}
}

// TestSecretInNoError: a gettoken that echoes the corpSecret (in any
// encoding) in its refusal, or a group call that echoes the token: neither
// is in the error.
func TestSecretInNoError(t *testing.T) {
	const secret = "SECRET-8f3a9c/+="
	for _, enc := range simfault.TokenEncodings {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msg, _ := json.Marshal("invalid credential, corpsecret=" + simfault.EncodeToken(r.URL.Query().Get("corpsecret"), enc))
			_, _ = w.Write([]byte(`{"errcode":40001,"errmsg":` + string(msg) + `}`))
		}))
		ts := vendors.AuthToken("wework", Auth, srv.URL+"/", vendors.Credentials{"corpId": "ww1", "corpSecret": secret})
		ts.HTTP = srv.Client()
		c := New(&vendors.Transport{BaseURL: srv.URL + "/", HTTP: srv.Client(), Token: ts, MaxAttempts: 1})
		_, err := c.ReadGroup(context.Background(), "c1", "")
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "credentials refused") {
			t.Errorf("%s: %v, want the refused secret", enc, err)
			continue
		}
		for _, form := range simfault.TokenEncodings {
			if strings.Contains(err.Error(), simfault.EncodeToken(secret, form)) {
				t.Errorf("%s: the secret (%s) is in the error: %v", enc, form, err)
			}
		}
	}
}

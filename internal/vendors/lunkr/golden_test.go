package lunkr

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

// The fixtures are the vendor page's examples, verbatim.

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stub answers every request with body and records the last request.
type stub struct {
	mu     sync.Mutex
	body   []byte
	method string
	url    *url.URL
	ctype  string
	req    []byte
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.url, s.ctype, s.req = r.Method, r.URL, r.Header.Get("Content-Type"), b
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(s.body)
}

func TestGoldenClientDecodes(t *testing.T) {
	ctx := context.Background()
	st := &stub{}
	h := serve(t, st, vendors.StaticToken("test", testToken))

	st.body = fixture(t, "info_response.json")
	g, err := h.client.ReadGroup(ctx, "1234", "")
	if err != nil {
		t.Fatal(err)
	}
	wantGroup := &vendors.Group{
		ID: "1234", Name: "测试讨论", Type: "topic", CreateTime: 1538969841000,
		Members: []vendors.LiveMember{
			{ID: "16", Email: "test10@test.com"},
			{ID: "7", Email: "test@test.com", Name: "真的姓名"},
			{ID: "12", Email: "test6@test.com", Name: "test6@test.com"},
		},
	}
	if diff := cmp.Diff(wantGroup, g); diff != "" {
		t.Errorf("info example (-want +got):\n%s", diff)
	}
	if st.method != http.MethodGet || st.url.Path != "/groups/info" || st.url.Query().Get("groupId") != "1234" || st.url.Query().Get("accessToken") != testToken {
		t.Errorf("info request = %s %s", st.method, st.url.Path)
	}

	st.body = fixture(t, "create_response.json")
	id, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "apiGroup", Members: []string{"test@test.com", "test2@test.com"}})
	if err != nil || id != "10664" {
		t.Errorf("create example = %q, %v; want 10664", id, err)
	}

	st.body = fixture(t, "list_response.json")
	refs, err := h.client.ListGroups(ctx, "test@test.com")
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []vendors.GroupRef{
		{ID: "10503", Email: "t..166c8f90691@robot.lunkr.cn", Name: "topic test", Type: "topic"},
		{ID: "10504", Email: "t..166c8f95e37@robot.lunkr.cn", Name: "topic test", Type: "topic"},
		{ID: "10617", Email: "t..166f2574394@robot.lunkr.cn", Name: "第三方建普通", Type: "topic"},
		{ID: "1063", Email: "c..166f649c1f8@robot.lunkr.cn", Name: "apiGroup111", Type: "public"},
		{ID: "10490", Email: "c..166c48e90dc@robot.lunkr.cn", Name: "群 test", Type: "public"},
		{ID: "10493", Email: "c..166c4916d17@robot.lunkr.cn", Name: "群 test", Type: "public"},
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("list example (-want +got):\n%s", diff)
	}
	if st.method != http.MethodGet || st.url.Path != "/groups/list" || st.url.Query().Get("userId") != "test@test.com" {
		t.Errorf("list request = %s %s", st.method, st.url)
	}
}

func TestGoldenCreateRequest(t *testing.T) {
	st := &stub{body: fixture(t, "create_response.json")}
	h := serve(t, st, vendors.StaticToken("test", testToken))
	if _, err := h.client.CreateGroup(context.Background(), vendors.CreateRequest{
		Operator: "ignored", Name: "apiGroup", Type: "topic", Members: []string{"test@test.com", "test2@test.com"},
	}); err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	if err := json.Unmarshal(st.req, &got); err != nil {
		t.Fatalf("request body %q: %v", st.req, err)
	}
	if err := json.Unmarshal(fixture(t, "create_request.json"), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create request (-example +client):\n%s", diff)
	}
	mt, _, _ := mime.ParseMediaType(st.ctype)
	if st.method != http.MethodPost || st.url.Path != "/groups/create" || mt != "application/json" || st.url.Query().Get("accessToken") != testToken {
		t.Errorf("create request = %s %s (%s)", st.method, st.url.Path, st.ctype)
	}
}

// TestGoldenSimulatorKeys checks that the simulator's answers have exactly
// the keys (and JSON types) of the vendor's examples.
func TestGoldenSimulatorKeys(t *testing.T) {
	h := newHarness(t)
	info := h.sim.SeedGroup(vendors.Group{Name: "测试讨论", Members: []vendors.LiveMember{
		{ID: "16", Email: "test10@test.com"}, {ID: "7", Email: "test@test.com", Name: "真的姓名"}, {ID: "12", Email: "test6@test.com"},
	}})
	h.sim.SeedGroup(vendors.Group{Name: "topic test", Members: members("test@test.com")})
	h.sim.SeedGroup(vendors.Group{Name: "群 test", Type: TypePublic, Members: members("test@test.com")})

	get := func(path string) []byte {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	q := "accessToken=" + testToken
	for _, tc := range []struct {
		fixture string
		answer  func() []byte
	}{
		{"info_response.json", func() []byte { return get("/groups/info?" + q + "&groupId=" + info) }},
		{"list_response.json", func() []byte { return get("/groups/list?" + q + "&userId=test@test.com") }},
		{"create_response.json", func() []byte {
			resp, err := http.Post(h.srv.URL+"/groups/create?"+q, "application/json;charset=utf-8", strings.NewReader(string(fixture(t, "create_request.json"))))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return b
		}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			got := tc.answer()
			want, have := keyPaths(t, fixture(t, tc.fixture)), keyPaths(t, got)
			if diff := cmp.Diff(want, have); diff != "" {
				t.Errorf("keys (-example +simulator):\n%s\nanswer: %s", diff, got)
			}
		})
	}
}

// keyPaths lists every key path of a JSON document with its JSON type, e.g.
// "var.members[].userId string".
func keyPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	set := map[string]bool{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := strings.TrimPrefix(prefix+"."+k, ".")
				set[p+" "+jsonType(e)] = true
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e)
			}
		}
	}
	walk("", v)
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

package yunzhijia

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

// golden is one example pair from the vendor's page (testdata/), with a
// client call that should send the request and read the answer, and the
// world the simulator needs to answer it.
type golden struct {
	file string // testdata/<file>.request.json and .response.json
	path string
	// call makes the request through c and returns what it read.
	call func(c *Client) (any, error)
	want any
	// seed prepares the simulator to accept the page's request.
	seed func(s *Simulator)
	// sameData: the simulator's answer must equal the page's, not only
	// have its shape (no generated ids or times in it).
	sameData bool
}

func seedGroup(s *Simulator, id, name string, managers []string, members ...string) {
	g := vendors.Group{ID: id, Name: name, Managers: managers}
	for _, m := range members {
		g.Members = append(g.Members, vendors.LiveMember{ID: m})
	}
	s.SeedGroup(g)
}

var goldens = []golden{
	{
		file: "createGroup", path: pathCreateGroup,
		call: func(c *Client) (any, error) {
			// The creator among the members is left out of userIds.
			return c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice, Name: "讨论组", Members: []string{alice, bob, carol, dave}})
		},
		want: "5bee7172e4b0f6bbaa32b4bf",
		seed: func(s *Simulator) {},
	},
	{
		file: "addGroupUser", path: pathAddGroupUser,
		call: func(c *Client) (any, error) {
			return nil, c.AddMembers(context.Background(), "5bee7172e4b0f6bbaa32b4bf", alice, []string{erin})
		},
		seed:     func(s *Simulator) { seedGroup(s, "5bee7172e4b0f6bbaa32b4bf", "讨论组", []string{alice}, alice, bob) },
		sameData: true,
	},
	{
		file: "groupUsers", path: pathGroupUsers,
		call: func(c *Client) (any, error) {
			return c.ReadGroup(context.Background(), "5c11fb86e4b03461235eef6f", "5b6bf2a7e4b0fbba1110125c")
		},
		want: &vendors.Group{ID: "5c11fb86e4b03461235eef6f", Managers: []string{"5b6bf2a7e4b0fbba1110125c"}, Members: []vendors.LiveMember{
			{ID: "5b6bf2a7e4b0fbba1110125c"}, {ID: "5b90bd35e4b0aaccb6c1ce2d"}, {ID: "5b8ce9bae4b0aaccb6c0e55e"},
		}},
		seed: func(s *Simulator) {
			seedGroup(s, "5c11fb86e4b03461235eef6f", "", []string{"5b6bf2a7e4b0fbba1110125c"},
				"5b6bf2a7e4b0fbba1110125c", "5b90bd35e4b0aaccb6c1ce2d", "5b8ce9bae4b0aaccb6c0e55e")
		},
		sameData: true,
	},
	{
		file: "delGroupUser", path: pathDelGroupUser,
		call: func(c *Client) (any, error) {
			return nil, c.RemoveMembers(context.Background(), "5bee7172e4b0f6bbaa32b4bf", alice, []string{erin})
		},
		seed: func(s *Simulator) {
			seedGroup(s, "5bee7172e4b0f6bbaa32b4bf", "讨论组", []string{alice}, alice, bob, erin)
		},
		sameData: true,
	},
	{
		file: "groupInfo", path: pathGroupInfo,
		call: func(c *Client) (any, error) {
			return c.ReadGroupInfo(context.Background(), "5bee7172e4b0f6bbaa32b4bf", alice)
		},
		want: &vendors.GroupInfo{ID: "5bee7172e4b0f6bbaa32b4bf", Name: "讨论组", Managers: []string{alice}, ParticipantCount: 2,
			Notice: &vendors.Notice{Title: "群公告标题", Content: "群公告内容"}},
		seed: func(s *Simulator) {
			seedGroup(s, "5bee7172e4b0f6bbaa32b4bf", "讨论组", []string{alice}, alice, bob)
			g := s.groups["5bee7172e4b0f6bbaa32b4bf"]
			g.notices = append(g.notices, noticeInfo{NoticeID: "5bee684de4b090102edd7509", Creator: alice, Title: "群公告标题", Content: "群公告内容", CreateTime: 1542350925132})
			g.banners = append(g.banners, bannerRecord{ID: "5befb02060b2c390d28d6cdb", bannerParams: bannerParams{Title: "string"}})
		},
		sameData: true,
	},
	{
		file: "notice_create", path: pathNotice,
		call: func(c *Client) (any, error) {
			return c.PostNotice(context.Background(), "5bee7172e4b0f6bbaa32b4bf", alice, vendors.Notice{Title: "群公告标题", Content: "群公告内容"})
		},
		want: "5bee684de4b090102edd7509",
		seed: func(s *Simulator) { seedGroup(s, "5bee7172e4b0f6bbaa32b4bf", "讨论组", []string{alice}, alice) },
	},
	{
		file: "banner_create", path: pathBanner,
		call: func(c *Client) (any, error) {
			const s = "string"
			return c.PostBanner(context.Background(), "5bece07d84ae7a938d0dba5f", "5b46b09be4b08bc0c5646ff7",
				vendors.Banner{Content: s, Title: s, LightAppID: s, ThumbURL: s, WebpageURL: s, PrimaryContent: s, ContentURL: s})
		},
		want: "5befb02060b2c390d28d6cdb",
		seed: func(s *Simulator) {
			seedGroup(s, "5bece07d84ae7a938d0dba5f", "", []string{"5b46b09be4b08bc0c5646ff7"}, "5b46b09be4b08bc0c5646ff7")
		},
	},
	{
		file: "merge", path: pathMerge,
		call: func(c *Client) (any, error) {
			return c.MergeHistory(context.Background(), "5be930f284ae59e625a7034e", "5b46b09be4b08bc0c5646ff7")
		},
		want: "5bed0bc884aeb31c68b7c97f",
		seed: func(s *Simulator) {
			seedGroup(s, "5be930f284ae59e625a7034e", "", []string{"5b46b09be4b08bc0c5646ff7"}, "5b46b09be4b08bc0c5646ff7")
		},
	},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}

// TestGoldenClient: the client sends the page's request (same fields and
// values) and reads the page's answer.
func TestGoldenClient(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			wantReq := decodeJSON(t, readFixture(t, g.file+".request.json"))
			answer := readFixture(t, g.file+".response.json")
			var gotReq any
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/gateway/"+g.path {
					t.Errorf("request %s %s, want POST /gateway/%s", r.Method, r.URL.Path, g.path)
				}
				if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
					t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
				}
				if r.URL.Query().Get("accessToken") != tok {
					t.Errorf("accessToken not in the query: %s", r.URL.RawQuery)
				}
				b, _ := io.ReadAll(r.Body)
				gotReq = decodeJSON(t, b)
				w.Header().Set("Content-Type", "application/json")
				w.Write(answer)
			}))
			defer srv.Close()
			c := New(newTransport(srv.URL+"/gateway/", vendors.StaticToken("kingdee", tok), noSleep))
			got, err := g.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantReq, gotReq); d != "" {
				t.Errorf("request body (-page +client):\n%s", d)
			}
			if g.want != nil {
				if d := cmp.Diff(g.want, got); d != "" {
					t.Errorf("decoded answer (-want +got):\n%s", d)
				}
			}
		})
	}
}

// TestGoldenSimulator: the simulator accepts the page's request verbatim and
// answers with the page's shape: the same keys, the same JSON types.
func TestGoldenSimulator(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			sim := NewSimulator(tok)
			g.seed(sim)
			srv := httptest.NewServer(sim)
			defer srv.Close()
			req := readFixture(t, g.file+".request.json")
			resp, err := http.Post(srv.URL+"/"+g.path+"?accessToken="+url.QueryEscape(tok), "application/json", bytes.NewReader(req))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := decodeJSON(t, body)
			want := decodeJSON(t, readFixture(t, g.file+".response.json"))
			if d := cmp.Diff(shape(want), shape(got)); d != "" {
				t.Errorf("answer shape (-page +simulator):\n%s\n%s", d, body)
			}
			if g.sameData {
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("answer (-page +simulator):\n%s", d)
				}
			}
		})
	}
}

// shape replaces every JSON value by its type, keeping object keys and the
// shape of an array's first element.
func shape(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = shape(x)
		}
		return m
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shape(v[0])}
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "?"
}

package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/simfault"
	"groupsync/internal/vendors/wecom"
	"groupsync/internal/vendors/yunzhijia"
)

// fuzzToken is the token the fuzzed clients send; "TOKEN" in a fuzzed
// answer is replaced by it, and "TOKEN[enc]" by it in the encoding enc (one
// of simfault.TokenEncodings), so the fuzzer can make a vendor echo it in
// any of them. Its "/+=" are characters that every encoding changes.
const fuzzToken = "fuzz-" + secretNeedle + "/+=="

// badIDSeeds are ids of every wrong shape, put in every place an answer
// carries an id: none may ever be returned as an id.
var badIDSeeds = []string{
	`not-a-hex-id`, strings.Repeat("a", 5000), `5bee7172e4b0f6bb\u001b[2J`, `5bee7172e4b0f6bbaa32b4b\n`,
	`abc&accessToken=evil`, `5bee7172e4b0f6bbaa32b4b`, `5bee7172e4b0f6bbaa32b4bfa`, `010664`, `-5`, `1e3`,
	`10664\u0000`, `\u202e10664`, `TOKEN`, `TOKEN[query-lower]`,
}

// FuzzVendorAnswers serves any HTTP status and body to every call of both
// real clients, through the real transport (one attempt, no retry), and
// checks what holds for any answer a vendor or a proxy could give: no
// panic; every error a *vendors.Error of a known kind that never carries
// the token; a 429 or 503 never an unknown outcome; any other 5xx on a
// create or post always one; and a success always with an id.
//
// The package decoders have their own targets: FuzzDecodeEnvelope
// (yunzhijia), FuzzDecode (lunkr), FuzzLoad (spec) for manifests.
func FuzzVendorAnswers(f *testing.F) {
	for _, dir := range []string{"../vendors/yunzhijia/testdata", "../vendors/lunkr/testdata", "../vendors/wecom/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*response.json"))
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint16(200), b)
		}
	}
	for _, seed := range []struct {
		status uint16
		body   string
	}{
		{200, `{"success":true,"data":{"groupId":"5e0000000000000000000001"},"error":null,"errorCode":0}`},
		{200, `{"code":"10000","var":{"groupId":"10001"}}`},
		{200, `{"success":false,"error":"token TOKEN expired","errorCode":401}`},
		{200, `{"code":"10002","msg":"invalid accessToken TOKEN"}`},
		{500, `internal error for /x?accessToken=TOKEN`},
		{503, `{"success":false,"errorCode":503}`},
		{429, ``},
		{502, `<html>TOKEN</html>`},
		{401, `{"error":"TOKEN"}`},
		{200, `<html>/groups/create?accessToken=TOKEN</html>`},
		{302, ``},
		{404, `no such api TOKEN`},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	for _, bad := range badIDSeeds {
		for _, tmpl := range []string{
			`{"success":true,"data":{"groupId":"%s"},"error":null,"errorCode":0}`,
			`{"success":true,"data":{"noticeId":"%[1]s","bannerId":"%[1]s","groupId":"%[1]s"},"errorCode":0}`,
			`{"success":true,"data":"%s","error":"no error","errorCode":200}`,
			`{"success":true,"data":{"managerIds":[],"participantIds":["5b503ee9e4b02abb5318b23e","%s"]},"errorCode":0}`,
			`{"code":"10000","var":{"groupId":"%s"}}`,
			`{"code":"10000","var":{"groupId":"10001","members":[{"userId":"%s","email":"a@example.com"}]}}`,
			`{"code":"10000","var":{"groupId":"10001","members":[{"userId":"7","email":"%s"}]}}`,
			`{"code":"10000","data":{"topic":[{"userId":"%s","userName":"g"}]}}`,
			`{"errcode":0,"errmsg":"ok","chatid":"%s"}`,
			`{"errcode":0,"chat_info":{"chatid":"%s","owner":"a","userlist":["a","b"]}}`,
			`{"errcode":0,"chat_info":{"chatid":"CHATID","owner":"%[1]s","userlist":["a","%[1]s"]}}`,
		} {
			f.Add(uint16(200), []byte(fmt.Sprintf(tmpl, bad)))
		}
	}
	for _, enc := range simfault.TokenEncodings {
		f.Add(uint16(200), []byte(`{"success":false,"error":"refused accessToken=TOKEN[`+enc+`]","errorCode":400}`))
		f.Add(uint16(200), []byte(`{"code":"10001","msg":"refused accessToken=TOKEN[`+enc+`]"}`))
		f.Add(uint16(200), []byte(`{"errcode":40058,"errmsg":"refused access_token=TOKEN[`+enc+`]"}`))
		f.Add(uint16(500), []byte(`internal error for /x?accessToken=TOKEN[`+enc+`]`))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 100 + int(status)%500 // 100..599
		if code < 200 {
			code += 100 // 1xx answers are not final answers
		}
		for _, enc := range simfault.TokenEncodings {
			body = bytes.ReplaceAll(body, []byte("TOKEN["+enc+"]"), []byte(simfault.EncodeToken(fuzzToken, enc)))
		}
		body = bytes.ReplaceAll(body, []byte("TOKEN"), []byte(fuzzToken))
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			w.Write(body)
		}))
		defer srv.Close()
		for _, c := range fuzzCalls(srv.URL + "/") {
			checkFuzzedCall(t, c, code, body)
		}
	})
}

type fuzzCall struct {
	vendor, name string
	write        bool // a create or post: never retried blindly
	run          func(ctx context.Context) (id string, err error)
}

func fuzzCalls(base string) []fuzzCall {
	transport := func() *vendors.Transport {
		return &vendors.Transport{BaseURL: base, HTTP: vendors.NewHTTPClient(5 * time.Second),
			Token: vendors.StaticToken("p", fuzzToken), MaxAttempts: 1}
	}
	y, l, w := yunzhijia.New(transport()), lunkr.New(transport()), wecom.New(transport())
	const uid, gid = "5b503ee9e4b02abb5318b23e", "5e0000000000000000000001"
	// A read's ids must all be of the vendor's shape: they are cached in
	// the state and shown.
	group := func(g *vendors.Group, err error) (string, error) {
		if g == nil {
			return "", err
		}
		for _, m := range append(slices.Clip(g.Members), g.Subscribers...) {
			if !validMember(g, m) {
				return "", fmt.Errorf("read returned member %+q", m)
			}
		}
		return g.ID, err
	}
	return []fuzzCall{
		{"yunzhijia", "groupUsers", false, func(ctx context.Context) (string, error) { return group(y.ReadGroup(ctx, gid, uid)) }},
		{"yunzhijia", "createGroup", true, func(ctx context.Context) (string, error) {
			return y.CreateGroup(ctx, vendors.CreateRequest{Operator: uid, Name: "g", Members: []string{"5b6cea82e4b05df05b3efc2b"}})
		}},
		{"yunzhijia", "addGroupUser", false, func(ctx context.Context) (string, error) {
			return "-", y.AddMembers(ctx, gid, uid, []string{"5b6cea82e4b05df05b3efc2b"})
		}},
		{"yunzhijia", "delGroupUser", false, func(ctx context.Context) (string, error) {
			return "-", y.RemoveMembers(ctx, gid, uid, []string{"5b6cea82e4b05df05b3efc2b"})
		}},
		{"yunzhijia", "groupInfo", false, func(ctx context.Context) (string, error) {
			info, err := y.ReadGroupInfo(ctx, gid, uid)
			if info == nil {
				return "", err
			}
			return info.ID, err
		}},
		{"yunzhijia", "notice/create", true, func(ctx context.Context) (string, error) {
			return y.PostNotice(ctx, gid, uid, vendors.Notice{Title: "t", Content: "c"})
		}},
		{"yunzhijia", "banner/create", true, func(ctx context.Context) (string, error) {
			return y.PostBanner(ctx, gid, uid, vendors.Banner{Title: "t"})
		}},
		{"yunzhijia", "merge", false, func(ctx context.Context) (string, error) { return y.MergeHistory(ctx, gid, uid) }},
		{"lunkr", "groups/info", false, func(ctx context.Context) (string, error) { return group(l.ReadGroup(ctx, "10001", "")) }},
		{"lunkr", "groups/create", true, func(ctx context.Context) (string, error) {
			return l.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Type: "topic", Members: []string{"a@example.com"}})
		}},
		{"wecom", "appchat/get", false, func(ctx context.Context) (string, error) {
			g, err := w.ReadGroup(ctx, "CHATID", "")
			if g != nil {
				for _, m := range g.Members {
					if !wecom.IsUserID(m.ID) {
						return "", fmt.Errorf("read returned member %+q", m)
					}
				}
				if g.Owner != "" && !wecom.IsUserID(g.Owner) {
					return "", fmt.Errorf("read returned owner %+q", g.Owner)
				}
				return g.ID, err
			}
			return "", err
		}},
		{"wecom", "appchat/create", true, func(ctx context.Context) (string, error) {
			return w.CreateGroup(ctx, vendors.CreateRequest{ID: "CHATID", Name: "g", Owner: "a", Members: []string{"b"}})
		}},
		{"wecom", "appchat/update", false, func(ctx context.Context) (string, error) {
			return "-", w.UpdateGroup(ctx, "CHATID", "", vendors.GroupUpdate{Name: "n", Owner: "a", Add: []string{"b"}, Remove: []string{"c"}})
		}},
		{"lunkr", "groups/list", false, func(ctx context.Context) (string, error) {
			refs, err := l.ListGroups(ctx, "a@example.com")
			for _, r := range refs {
				if !lunkr.IsGroupID(r.ID) || (r.Email != "" && !lunkr.IsEmail(r.Email)) {
					return "", fmt.Errorf("a listed group with id %+q, email %+q", r.ID, r.Email)
				}
			}
			return "-", err
		}},
	}
}

// validMember reports whether a member read from g has ids of g's vendor's
// shape (a Yunzhijia group's ids are 24 hexadecimal digits).
func validMember(g *vendors.Group, m vendors.LiveMember) bool {
	if yunzhijia.IsID(g.ID) {
		return yunzhijia.IsID(m.ID)
	}
	return (m.ID != "" || m.Email != "") && (m.ID == "" || lunkr.IsUID(m.ID)) && (m.Email == "" || lunkr.IsEmail(m.Email))
}

// validID reports whether id, returned by call of vendor, has the shape of
// that vendor's ids.
func validID(vendor, call, id string) bool {
	switch {
	case id == "-": // a call that returns no id
		return true
	case vendor == "yunzhijia":
		return yunzhijia.IsID(id)
	case vendor == "wecom":
		return wecom.IsChatID(id)
	}
	return lunkr.IsGroupID(id)
}

var errorKinds = []error{vendors.ErrNotFound, vendors.ErrNoPermission, vendors.ErrBadRequest, vendors.ErrUnauthorized,
	vendors.ErrRateLimited, vendors.ErrTransient, vendors.ErrUnknownOutcome, vendors.ErrUnsupported, vendors.ErrVendor}

func checkFuzzedCall(t *testing.T, c fuzzCall, code int, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.run(ctx)
	where := c.vendor + " " + c.name
	if err == nil {
		if !validID(c.vendor, c.name, id) {
			t.Fatalf("%s: HTTP %d %q: success with id %+.60q, not of the vendor's shape", where, code, body, id)
		}
		return
	}
	for _, r := range err.Error() {
		if r < 0x20 || r == 0x7f || r == 0x202e {
			t.Fatalf("%s: HTTP %d %q: the error holds control character %U: %q", where, code, body, r, err)
		}
	}
	var ve *vendors.Error
	if !errors.As(err, &ve) {
		t.Fatalf("%s: HTTP %d %q: error %T %v is not a *vendors.Error", where, code, body, err, err)
	}
	known := false
	for _, k := range errorKinds {
		known = known || errors.Is(err, k)
	}
	if !known {
		t.Fatalf("%s: HTTP %d %q: error of no known kind: %v", where, code, body, err)
	}
	for _, enc := range append([]string{"needle"}, simfault.TokenEncodings...) {
		form := secretNeedle
		if enc != "needle" {
			form = simfault.EncodeToken(fuzzToken, enc)
		}
		if strings.Contains(err.Error(), form) || strings.Contains(ve.Message, form) {
			t.Fatalf("%s: HTTP %d %q: the token (%s) is in the error: %v", where, code, body, enc, err)
		}
	}
	unknown := errors.Is(err, vendors.ErrUnknownOutcome)
	switch {
	case (code == 429 || code == 503) && unknown:
		t.Fatalf("%s: HTTP %d was not made, but the outcome is called unknown: %v", where, code, err)
	case c.write && code >= 500 && code != 503 && !unknown:
		t.Fatalf("%s: HTTP %d after sending a write must be an unknown outcome, got %v", where, code, err)
	case !c.write && unknown:
		t.Fatalf("%s: HTTP %d: a read or idempotent call with an unknown outcome: %v", where, code, err)
	}
}

package reliability

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// fuzzToken is the token the fuzzed clients send; "TOKEN" in a fuzzed
// answer is replaced by it, so the fuzzer can make a vendor echo it.
const fuzzToken = "fuzz-" + secretNeedle

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
	for _, dir := range []string{"../vendors/yunzhijia/testdata", "../vendors/lunkr/testdata"} {
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
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := 100 + int(status)%500 // 100..599
		if code < 200 {
			code += 100 // 1xx answers are not final answers
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
	y, l := yunzhijia.New(transport()), lunkr.New(transport())
	const uid, gid = "5b503ee9e4b02abb5318b23e", "5e0000000000000000000001"
	group := func(g *vendors.Group, err error) (string, error) {
		if g == nil {
			return "", err
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
		{"lunkr", "groups/list", false, func(ctx context.Context) (string, error) {
			refs, err := l.ListGroups(ctx, "a@example.com")
			for _, r := range refs {
				if r.ID == "" {
					return "", errors.New("a listed group without an id")
				}
			}
			return "-", err
		}},
	}
}

var errorKinds = []error{vendors.ErrNotFound, vendors.ErrNoPermission, vendors.ErrBadRequest, vendors.ErrUnauthorized,
	vendors.ErrRateLimited, vendors.ErrTransient, vendors.ErrUnknownOutcome, vendors.ErrUnsupported, vendors.ErrVendor}

func checkFuzzedCall(t *testing.T, c fuzzCall, code int, body []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := c.run(ctx)
	where := c.vendor + " " + c.name
	if err == nil {
		if id == "" {
			t.Fatalf("%s: HTTP %d %q: success without an id", where, code, body)
		}
		return
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
	if strings.Contains(err.Error(), secretNeedle) || strings.Contains(ve.Message, secretNeedle) {
		t.Fatalf("%s: HTTP %d %q: the token is in the error: %v", where, code, body, err)
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

package yunzhijia

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"groupsync/internal/vendors"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		code, msg string
		want      error
	}{
		{"400", "", vendors.ErrBadRequest},
		{"401", "", vendors.ErrUnauthorized},
		{"403", "", vendors.ErrNoPermission},
		{"404", "", vendors.ErrNotFound},
		{"410", "", vendors.ErrNotFound},
		{"500", "", vendors.ErrVendor},
		{"200", "", vendors.ErrVendor}, // success false decides, whatever the code
		{"0", "", vendors.ErrVendor},
		{"", "", vendors.ErrVendor},
		{"10086", "accessToken is expired", vendors.ErrUnauthorized},
		{"10087", "token无效", vendors.ErrUnauthorized},
		{"10088", "group full", vendors.ErrVendor},
	}
	for _, tt := range tests {
		if got := kindOf(tt.code, tt.msg); got != tt.want {
			t.Errorf("kindOf(%q, %q) = %v, want %v", tt.code, tt.msg, got, tt.want)
		}
	}
}

func TestDecodeAnswer(t *testing.T) {
	tests := []struct {
		body     string
		kind     error // nil: success
		code     string
		wantData string
	}{
		{`{"success":true,"data":"5bed0bc884aeb31c68b7c97f","error":"no error","errorCode":200}`, nil, "", "5bed0bc884aeb31c68b7c97f"},
		{`{"success":true,"data":"m1","error":"no error","errorCode":200}`, vendors.ErrUnreadable, "", ""}, // not an id
		{`{"success":false,"data":null,"error":"no","errorCode":200}`, vendors.ErrVendor, "200", ""},
		{`{"success":false,"error":"gone","errorCode":"404"}`, vendors.ErrNotFound, "404", ""},
		{`{"success":false,"error":{"x":1},"errorCode":400}`, vendors.ErrBadRequest, "400", ""},
		{`{"success":"true","data":"m1"}`, vendors.ErrUnreadable, "", ""},
		{`{"data":"m1","errorCode":0}`, vendors.ErrUnreadable, "", ""},
		{`{"success":true,"data":null,"errorCode":0}`, vendors.ErrUnreadable, "", ""},
		{`{"success":true,"data":"","errorCode":0}`, vendors.ErrUnreadable, "", ""},
		{`{"success":true,"data":{"id":1},"errorCode":0}`, vendors.ErrUnreadable, "", ""},
		{`<html>502 Bad Gateway</html>`, vendors.ErrUnreadable, "", ""},
		{``, vendors.ErrUnreadable, "", ""},
	}
	for _, tt := range tests {
		var m mergeID
		err := decodeAnswer(CallMerge, []byte(tt.body), &m)
		if tt.kind == nil {
			if err != nil || string(m) != tt.wantData {
				t.Errorf("decode %s = %q, %v; want %q", tt.body, m, err, tt.wantData)
			}
			continue
		}
		if !errors.Is(err, tt.kind) {
			t.Errorf("decode %s: error %v, want %v", tt.body, err, tt.kind)
		}
		var ve *vendors.Error
		if errors.As(err, &ve) && ve.Code != tt.code {
			t.Errorf("decode %s: code %q, want %q", tt.body, ve.Code, tt.code)
		}
	}
}

// TestErrorKinds makes the simulator answer each failure and checks the kind
// and code the client reports.
func TestErrorKinds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.seed(gid, alice, bob)
	const gone = "5bee7172e4b0f6bbaa32b4c0"
	e.seed(gone, alice)
	e.sim.DeleteGroup(gone)

	tests := []struct {
		name string
		call func() error
		kind error
		code string
	}{
		{"read unknown group", func() error { _, err := e.c.ReadGroup(ctx, "5c11fb86e4b03461235eef6f", alice); return err }, vendors.ErrNotFound, "404"},
		{"read dismissed group", func() error { _, err := e.c.ReadGroup(ctx, gone, alice); return err }, vendors.ErrNotFound, "410"},
		{"add to unknown group", func() error { return e.c.AddMembers(ctx, "nope", alice, []string{bob}) }, vendors.ErrNotFound, "404"},
		{"notice on unknown group", func() error {
			_, err := e.c.PostNotice(ctx, "nope", alice, vendors.Notice{Title: "t", Content: "c"})
			return err
		}, vendors.ErrNotFound, "404"},
		{"banner on unknown group", func() error { _, err := e.c.PostBanner(ctx, "nope", alice, vendors.Banner{Title: "t"}); return err }, vendors.ErrNotFound, "404"},
		{"merge on dismissed group", func() error { _, err := e.c.MergeHistory(ctx, gone, alice); return err }, vendors.ErrNotFound, "410"},
		{"read as outsider", func() error { _, err := e.c.ReadGroup(ctx, gid, carol); return err }, vendors.ErrNoPermission, "403"},
		{"add as outsider", func() error { return e.c.AddMembers(ctx, gid, carol, []string{dave}) }, vendors.ErrNoPermission, "403"},
		{"notice as outsider", func() error {
			_, err := e.c.PostNotice(ctx, gid, carol, vendors.Notice{Title: "t", Content: "c"})
			return err
		}, vendors.ErrNoPermission, "403"},
		{"notice title 41 characters", func() error {
			_, err := e.c.PostNotice(ctx, gid, alice, vendors.Notice{Title: strings.Repeat("题", 41), Content: "c"})
			return err
		}, vendors.ErrBadRequest, "400"},
		{"notice content 2001 characters", func() error {
			_, err := e.c.PostNotice(ctx, gid, alice, vendors.Notice{Title: "t", Content: strings.Repeat("内", 2001)})
			return err
		}, vendors.ErrBadRequest, "400"},
		{"notice empty title", func() error {
			_, err := e.c.PostNotice(ctx, gid, alice, vendors.Notice{Content: "c"})
			return err
		}, vendors.ErrBadRequest, "400"},
		{"create with a bad creator id", func() error {
			_, err := e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: "alice", Members: []string{bob}})
			return err
		}, vendors.ErrBadRequest, "400"},
		{"add a bad member id", func() error { return e.c.AddMembers(ctx, gid, alice, []string{"bob@example.com"}) }, vendors.ErrBadRequest, "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ResetCalls()
			err := tt.call()
			var ve *vendors.Error
			if !errors.As(err, &ve) || !errors.Is(err, tt.kind) || ve.Code != tt.code {
				t.Fatalf("error %v, want kind %v code %s", err, tt.kind, tt.code)
			}
			if ve.Vendor != "yunzhijia" || ve.Call == "" {
				t.Fatalf("error %v does not name the vendor and call", err)
			}
			if n := sum(e.sim.Calls()); n != 1 {
				t.Fatalf("made %d calls, want 1 (a vendor's refusal is not retried)", n)
			}
		})
	}
}

func TestUnauthorizedStaticToken(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	e.tr.Token = vendors.StaticToken("kingdee", "TOK-wrong")
	_, err := e.c.ReadGroup(context.Background(), gid, alice)
	if !errors.Is(err, vendors.ErrUnauthorized) || !strings.Contains(err.Error(), "code 401") {
		t.Fatalf("error %v, want ErrUnauthorized code 401", err)
	}
	if n := e.sim.Calls()[CallGroupUsers]; n != 1 {
		t.Fatalf("calls %d, want 1 (a fixed token cannot be refreshed)", n)
	}
}

func TestUnauthorizedHTTP401(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"success":false,"error":"unauthorized","errorCode":401}`)
	}))
	defer srv.Close()
	c := New(newTransport(srv.URL+"/", vendors.StaticToken("kingdee", tok), nil))
	_, err := c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice})
	if !errors.Is(err, vendors.ErrUnauthorized) {
		t.Fatalf("error %v, want ErrUnauthorized", err)
	}
}

func TestUnclassifiedVendorError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"success":false,"data":null,"error":"群人数已达上限","errorCode":10502}`)
	}))
	defer srv.Close()
	c := New(newTransport(srv.URL+"/", vendors.StaticToken("kingdee", tok), nil))
	err := c.AddMembers(context.Background(), gid, alice, []string{bob})
	var ve *vendors.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendors.ErrVendor) || ve.Code != "10502" || ve.Message != "群人数已达上限" {
		t.Fatalf("error %#v, want ErrVendor with the vendor's code and message", err)
	}
	if got, want := err.Error(), "yunzhijia addGroupUser: vendor error (code 10502): 群人数已达上限"; got != want {
		t.Fatalf("error text %q, want %q", got, want)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

package lunkr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

// TestDocumentedCodes runs every code of the vendor's page (and the assumed
// invalid-token code) through the simulator and the client.
func TestDocumentedCodes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(h *harness)
		call    func(h *harness) error
		kind    error
		code    string
		mention string // the error names this
		calls   int    // requests made (none of these is retried)
	}{
		{
			name: "10000 ok",
			call: func(h *harness) error {
				_, err := h.client.ListGroups(ctx, "a@example.com")
				return err
			},
		},
		{
			name:  "10001 unknown error on info",
			setup: func(h *harness) { h.sim.ForceCode(CallInfo, CodeUnknownError, 1) },
			call: func(h *harness) error {
				_, err := h.client.ReadGroup(ctx, "10000", "")
				return err
			},
			kind: vendors.ErrVendor, code: CodeUnknownError, calls: 1,
		},
		{
			name:  "10001 unknown error on list",
			setup: func(h *harness) { h.sim.ForceCode(CallList, CodeUnknownError, 1) },
			call: func(h *harness) error {
				_, err := h.client.ListGroups(ctx, "a@example.com")
				return err
			},
			kind: vendors.ErrVendor, code: CodeUnknownError, calls: 1,
		},
		{
			// "Unknown error" does not prove a create was not made: it is a
			// lost create, found later through groups/list, never resent blindly.
			name:  "10001 unknown error on create is an unknown outcome",
			setup: func(h *harness) { h.sim.ForceCode(CallCreate, CodeUnknownError, 1) },
			call: func(h *harness) error {
				_, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
				return err
			},
			kind: vendors.ErrUnknownOutcome, code: CodeUnknownError, calls: 1,
		},
		{
			name:  "10006 no permission on info",
			setup: func(h *harness) { h.sim.ForceCode(CallInfo, CodeNoPermission, 1) },
			call: func(h *harness) error {
				_, err := h.client.ReadGroup(ctx, "10000", "")
				return err
			},
			kind: vendors.ErrNoPermission, code: CodeNoPermission, calls: 1,
		},
		{
			name:  "10006 no permission on list",
			setup: func(h *harness) { h.sim.ForceCode(CallList, CodeNoPermission, 1) },
			call: func(h *harness) error {
				_, err := h.client.ListGroups(ctx, "a@example.com")
				return err
			},
			kind: vendors.ErrNoPermission, code: CodeNoPermission, calls: 1,
		},
		{
			name:  "10006 no permission on create",
			setup: func(h *harness) { h.sim.ForceCode(CallCreate, CodeNoPermission, 1) },
			call: func(h *harness) error {
				_, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
				return err
			},
			kind: vendors.ErrNoPermission, code: CodeNoPermission, calls: 1,
		},
		{
			name:  "20101 user not found on list",
			setup: func(h *harness) { h.sim.RejectUser("Ghost@Example.com") },
			call: func(h *harness) error {
				_, err := h.client.ListGroups(ctx, "ghost@example.com")
				return err
			},
			kind: vendors.ErrBadRequest, code: CodeUserNotFound, mention: "ghost@example.com", calls: 1,
		},
		{
			name: "20101 malformed user on list",
			call: func(h *harness) error {
				_, err := h.client.ListGroups(ctx, "not-a-user")
				return err
			},
			kind: vendors.ErrBadRequest, code: CodeUserNotFound, mention: "not-a-user", calls: 1,
		},
		{
			name:  "20101 user not found on create",
			setup: func(h *harness) { h.sim.RejectUser("99") },
			call: func(h *harness) error {
				_, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Members: []string{"a@example.com", "99"}})
				return err
			},
			kind: vendors.ErrBadRequest, code: CodeUserNotFound, mention: "99", calls: 1,
		},
		{
			name: "20102 bad group type",
			call: func(h *harness) error {
				_, err := h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Type: "channel", Members: []string{"a@example.com"}})
				return err
			},
			kind: vendors.ErrBadRequest, code: CodeBadGroupType, mention: "channel", calls: 1,
		},
		{
			name: "20201 group not found",
			call: func(h *harness) error {
				_, err := h.client.ReadGroup(ctx, "99999", "")
				return err
			},
			kind: vendors.ErrNotFound, code: CodeGroupNotFound, mention: "99999", calls: 1,
		},
		{
			name:  "10002 invalid token (assumed code), fixed token: not retried",
			setup: func(h *harness) { h.sim.SetTokens("another-token") },
			call: func(h *harness) error {
				_, err := h.client.ReadGroup(ctx, "10000", "")
				return err
			},
			kind: vendors.ErrUnauthorized, code: CodeInvalidToken, calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sim.SeedGroup(vendors.Group{Name: "g", Members: members("a@example.com")})
			if tt.setup != nil {
				tt.setup(h)
			}
			h.sim.ResetCalls()
			err := tt.call(h)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			ve := vendorError(t, err, tt.kind)
			if ve.Code != tt.code {
				t.Errorf("code = %q, want %q", ve.Code, tt.code)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			total := 0
			for _, n := range h.sim.Calls() {
				total += n
			}
			if total != tt.calls {
				t.Errorf("requests = %d, want %d", total, tt.calls)
			}
		})
	}
}

// TestDecodeAnswers covers what the simulator never sends: numbers for
// strings, var vs data, missing parts, unknown codes.
func TestDecodeAnswers(t *testing.T) {
	t.Run("numeric code and groupId", func(t *testing.T) {
		id, err := decodeCreate([]byte(`{"code":10000,"var":{"groupId":10664}}`), "")
		if err != nil || id != "10664" {
			t.Errorf("decodeCreate = %q, %v", id, err)
		}
	})
	t.Run("numeric error code", func(t *testing.T) {
		_, err := decodeInfo([]byte(`{"code":20201}`), "5")
		if ve := vendorError(t, err, vendors.ErrNotFound); ve.Code != "20201" || !strings.Contains(ve.Message, "5") {
			t.Errorf("error = %+v", ve)
		}
	})
	t.Run("vendor message wins", func(t *testing.T) {
		_, err := decodeCreate([]byte(`{"code":"20101","message":"用户 x@y.cn 不存在"}`), "")
		if ve := vendorError(t, err, vendors.ErrBadRequest); ve.Message != "用户 x@y.cn 不存在" {
			t.Errorf("message = %q", ve.Message)
		}
	})
	t.Run("create names its single user", func(t *testing.T) {
		_, err := decodeCreate([]byte(`{"code":"20101"}`), "x@y.cn")
		if ve := vendorError(t, err, vendors.ErrBadRequest); !strings.Contains(ve.Message, "x@y.cn") {
			t.Errorf("message = %q", ve.Message)
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		_, err := decodeList([]byte(`{"code":"30003","msg":"busy"}`), "u")
		if ve := vendorError(t, err, vendors.ErrVendor); ve.Code != "30003" || ve.Message != "busy" {
			t.Errorf("error = %+v", ve)
		}
	})
	t.Run("list under var and under data", func(t *testing.T) {
		for _, body := range []string{
			`{"code":"10000","var":{"topic":[{"userId":"1","email":"t..1@robot.lunkr.cn","userName":"a"}]}}`,
			`{"code":"10000","data":{"topic":[{"userId":"1","email":"t..1@robot.lunkr.cn","userName":"a"}]}}`,
			`{"code":"10000","var":null,"data":{"topic":[{"userId":1,"email":"t..1@robot.lunkr.cn","userName":"a"}]}}`,
		} {
			refs, err := decodeList([]byte(body), "u")
			want := []vendors.GroupRef{{ID: "1", Email: "t..1@robot.lunkr.cn", Name: "a", Type: TypeTopic}}
			if err != nil || !cmp.Equal(refs, want) {
				t.Errorf("decodeList(%s) = %+v, %v", body, refs, err)
			}
		}
	})
	t.Run("role as string, createTime as string, subscribers as strings", func(t *testing.T) {
		refs, err := decodeList([]byte(`{"code":"10000","data":{"sysTopic":[{"userId":"9","role":"1"}]}}`), "u")
		if err != nil || len(refs) != 1 || refs[0].Role != 1 || refs[0].Type != TypeSysTopic {
			t.Errorf("decodeList = %+v, %v", refs, err)
		}
		g, err := decodeInfo([]byte(`{"code":"10000","var":{"groupId":"9","createTime":"1538969841000","members":[],"subscribers":["a@b.cn","17"]}}`), "9")
		if err != nil {
			t.Fatal(err)
		}
		want := []vendors.LiveMember{{Email: "a@b.cn"}, {ID: "17"}}
		if g.CreateTime != 1538969841000 || !cmp.Equal(g.Subscribers, want) || g.Members == nil {
			t.Errorf("decodeInfo = %+v", g)
		}
	})
	for name, tc := range map[string]struct {
		body   string
		decode func([]byte) error
	}{
		"not json":           {`<html>502</html>`, infoDecoder},
		"no code":            {`{"var":{"members":[]}}`, infoDecoder},
		"code of wrong type": {`{"code":true}`, infoDecoder},
		"info without var":   {`{"code":"10000"}`, infoDecoder},
		"info no members":    {`{"code":"10000","var":{"groupId":"1"}}`, infoDecoder},
		"info members typed": {`{"code":"10000","var":{"members":{"a":1}}}`, infoDecoder},
		"create no groupId":  {`{"code":"10000","var":{}}`, createDecoder},
		"create no var":      {`{"code":"10000"}`, createDecoder},
		"create id object":   {`{"code":"10000","var":{"groupId":{}}}`, createDecoder},
		"list no payload":    {`{"code":"10000"}`, listDecoder},
		"list entry no id":   {`{"code":"10000","data":{"group":[{"email":"x"}]}}`, listDecoder},
		"list fractional":    {`{"code":"10000","data":{"sysTopic":[{"userId":"1","role":0.5}]}}`, listDecoder},
	} {
		t.Run(name, func(t *testing.T) {
			if err := tc.decode([]byte(tc.body)); !errors.Is(err, vendors.ErrUnreadable) {
				t.Errorf("got %v, want ErrUnreadable", err)
			}
		})
	}
}

func infoDecoder(b []byte) error   { _, err := decodeInfo(b, "1"); return err }
func createDecoder(b []byte) error { _, err := decodeCreate(b, ""); return err }
func listDecoder(b []byte) error   { _, err := decodeList(b, "u"); return err }

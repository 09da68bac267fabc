package lunkr

import (
	"errors"
	"testing"

	"groupsync/internal/vendors"
)

// FuzzDecode feeds arbitrary answers to every decoder: none may panic, and
// each returns a result, a *vendors.Error or an error wrapping
// vendors.ErrUnreadable.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"info_response.json", "create_response.json", "list_response.json", "create_request.json"} {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `{"code":null}`, `{"code":10000,"var":{"groupId":1e400}}`,
		`{"code":"10000","var":{"members":[null,"x",1]}}`, `{"code":"10000","var":{"createTime":"9e18","members":[]}}`,
		`{"code":"20101","msg":{"a":1}}`, `{"code":-1}`, `{"code":"10000","data":{"sysTopic":[{"userId":"1","role":"-9223372036854775809"}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(call string, ok bool, err error) {
			var ve *vendors.Error
			switch {
			case err == nil && !ok:
				t.Errorf("%s: no error and no result for %q", call, body)
			case err == nil:
			case errors.As(err, &ve):
				if ve.Vendor != Vendor || ve.Call != call || ve.Code == "" || ve.Code == CodeOK {
					t.Errorf("%s: malformed error %+v", call, ve)
				}
			case !errors.Is(err, vendors.ErrUnreadable):
				t.Errorf("%s: error %v is neither a vendor error nor unreadable", call, err)
			}
		}
		g, err := decodeInfo(body, "1")
		check(CallInfo, g != nil && g.Members != nil, err)
		id, err := decodeCreate(body, "")
		check(CallCreate, id != "", err)
		_, err = decodeList(body, "u")
		check(CallList, true, err)
	})
}

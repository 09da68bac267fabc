package wecom

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"groupsync/internal/vendors"
)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecoders: any answer body to every decoder: no panic; an error is a
// *vendors.Error or wraps ErrUnreadable; a success carries only ids of the
// vendor's shape.
func FuzzDecoders(f *testing.F) {
	for _, name := range []string{"get_response.json", "create_response.json", "update_response.json", "gettoken_response.json"} {
		f.Add(fixture(f, name))
	}
	for _, s := range []string{
		`{"errcode":0}`, `{"errcode":"0"}`, `{"errcode":1.5}`, `{"errcode":86003,"errmsg":"x"}`, `null`, `[]`,
		`{"errcode":0,"chatid":"a-b"}`, `{"errcode":0,"chat_info":{"chatid":"CHATID","userlist":["a b"]}}`,
		`{"errcode":0,"chat_info":{"chatid":"CHATID","owner":"\u001b[31m","userlist":[]}}`,
		`{"errcode":0,"chat_info":{"chatid":"` + strings.Repeat("a", 5000) + `","userlist":[]}}`,
		`{"errcode":0,"chat_info":{"chatid":"CHATID"}}`, `{"errcode":-1,"errmsg":"busy"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(what string, err error) {
			var ve *vendors.Error
			if err != nil && !errors.As(err, &ve) && !errors.Is(err, vendors.ErrUnreadable) {
				t.Errorf("%s: %T %v is neither a *vendors.Error nor unreadable", what, err, err)
			}
		}
		g, err := decodeGet(body, "CHATID")
		check("get", err)
		if err == nil {
			if !IsChatID(g.ID) {
				t.Errorf("get: chatid %q", g.ID)
			}
			for _, m := range g.Members {
				if !IsUserID(m.ID) {
					t.Errorf("get: member %q", m.ID)
				}
			}
		}
		id, err := decodeCreate(body, "")
		check("create", err)
		if err == nil && !IsChatID(id) {
			t.Errorf("create: chatid %q", id)
		}
		check("update", decodeUpdate(body, "CHATID"))
	})
}

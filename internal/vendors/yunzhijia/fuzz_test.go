package yunzhijia

import (
	"errors"
	"path/filepath"
	"testing"

	"groupsync/internal/vendors"
)

// FuzzDecodeEnvelope: decoding any answer, for any call, never panics and
// yields success, a *vendors.Error, or an error wrapping ErrUnreadable.
func FuzzDecodeEnvelope(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.response.json"))
	for _, name := range files {
		f.Add(readFixture(f, filepath.Base(name)))
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `"x"`, `{"success":null}`, `{"success":false}`,
		`{"success":false,"error":"token expired","errorCode":"x"}`,
		`{"success":false,"error":[1],"errorCode":1e400}`,
		`{"success":true,"data":{"managerIds":null,"participantIds":[1]}}`,
		`{"success":true,"data":{"groupId":7}}`,
		`{"success":true,"data":{"5bee7172e4b0f6bbaa32b4bf":null}}`,
		`{"success":true,"data":{"5bee7172e4b0f6bbaa32b4bf":{"groupInfo":[],"notice":7}}}`,
		`{"success":true,"data":{"5bee7172e4b0f6bbaa32b4bf":{"groupInfo":{"groupName":"x"},"notice":null}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []any{nil, new(groupIDAnswer), new(groupUsersData), new(noticeIDAnswer), new(bannerInfo), new(mergeID),
			&groupInfoAnswer{groupID: "5bee7172e4b0f6bbaa32b4bf"}}
		for _, out := range targets {
			err := decodeAnswer(CallGroupUsers, body, out)
			if err == nil {
				continue
			}
			var ve *vendors.Error
			if !errors.As(err, &ve) && !errors.Is(err, vendors.ErrUnreadable) {
				t.Fatalf("decode %q: error %v is neither *vendors.Error nor ErrUnreadable", body, err)
			}
			if ve != nil && (ve.Vendor != Vendor || ve.Kind == nil) {
				t.Fatalf("decode %q: error %#v lacks vendor or kind", body, ve)
			}
		}
	})
}

package yunzhijia

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// refUsers is groupUsers' data as encoding/json alone decodes it (the type
// keeps decodeAnswer off its one-pass path).
type refUsers groupUsersData

var scanSeeds = []string{
	`{"data":{"managerIds":["5b6bf2a7e4b0fbba1110125c"],"participantIds":["5b6bf2a7e4b0fbba1110125c","5b90bd35e4b0aaccb6c1ce2d"]},"success":true,"errorCode":0}`,
	`{"success":true,"error":null,"errorCode":0,"data":{"participantIds":[]}}`,
	`{"success":true,"data":{"participantIds":null,"managerIds":[]}}`,
	`{"success":true,"data":{}}`,
	`{"success":true,"data":null}`,
	`{"success":false,"data":{"participantIds":[]},"error":"x","errorCode":1}`,
	`{"success":true,"data":{"participantIds":["a"],"ParticipantIds":["b"]}}`,
	`{"success":true,"Data":{"participantIds":["a"]}}`,
	`{"success":true,"data":{"participantIds":["a\u0030"]}}`,
	`{"success":true,"data":{"participantIds":["a",]}}`,
	`{"success":true,"data":{"participantIds":[1]}}`,
	`{"success":true,"success":true,"data":{"participantIds":[]}}`,
	`{"success":true,"data":{"participantIds":[]},"errorCode":01}`,
	`{"success":true,"data":{"participantIds":[]}} x`,
	"{\"success\":true,\"data\":{\"participantIds\":[\"\xff\"]}}",
}

func TestScanGroupUsersAgrees(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
}

func FuzzScanGroupUsers(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScan)
}

// checkScan: whatever scanGroupUsers accepts, encoding/json reads alike.
func checkScan(t *testing.T, body []byte) {
	got, ok := scanGroupUsers(body)
	if !ok {
		return
	}
	var ref refUsers
	if err := decodeAnswer(CallGroupUsers, body, &ref); err != nil {
		t.Fatalf("scanGroupUsers accepted %q, decodeAnswer says %v", body, err)
	}
	if diff := cmp.Diff(groupUsersData(ref), got); diff != "" {
		t.Errorf("scanGroupUsers(%q) differs from encoding/json (-json +scan):\n%s", body, diff)
	}
}

package yunzhijia

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkDecodeGroupUsers decodes a groupUsers answer of 200 members, the
// yardstick of lunkr's BenchmarkDecodeInfo.
func BenchmarkDecodeGroupUsers(b *testing.B) {
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = fmt.Sprintf("5b%022x", i+1)
	}
	body, err := json.Marshal(map[string]any{"data": map[string]any{"managerIds": ids[:1], "participantIds": ids}, "success": true, "errorCode": 0})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var d groupUsersData
		if err := decodeAnswer(CallGroupUsers, body, &d); err != nil || len(d.ParticipantIDs) != 200 {
			b.Fatal(err)
		}
	}
}

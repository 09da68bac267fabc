package lunkr

import (
	"encoding/json"
	"fmt"
	"testing"
)

// infoAnswer is a groups/info answer of n members, as the simulator sends.
func infoAnswer(n int) []byte {
	members := make([]map[string]any, n)
	for i := range members {
		members[i] = map[string]any{"userId": fmt.Sprint(1000 + i), "email": fmt.Sprintf("p%05d@example.com", i), "userName": fmt.Sprintf("Person %05d", i)}
	}
	b, err := json.Marshal(map[string]any{"code": CodeOK, "var": map[string]any{
		"groupId": "70000001", "groupName": "Team 00001", "groupType": TypeTopic, "createTime": 1538969841000,
		"memberCount": n, "subscribers": []any{}, "members": members,
	}})
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecodeInfo decodes a groups/info answer of 200 members into the
// checked group: compare its ns/op with yunzhijia's
// BenchmarkDecodeGroupUsers (issue 18: within twice its cost), side by side
// as `make bench-decode` runs them.
func BenchmarkDecodeInfo(b *testing.B) {
	body := infoAnswer(200)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		g, err := decodeInfo(body, "70000001")
		if err != nil || len(g.Members) != 200 {
			b.Fatal(err)
		}
	}
}

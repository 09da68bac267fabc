package lunkr

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// refInfo is groups/info's var decoded by encoding/json alone, member by
// member: what the one-pass decoders must agree with.
type refInfo struct {
	GroupID     text        `json:"groupId"`
	GroupName   string      `json:"groupName"`
	GroupType   string      `json:"groupType"`
	CreateTime  integer     `json:"createTime"`
	MemberCount integer     `json:"memberCount"`
	Subscribers []wireUser  `json:"subscribers"`
	Members     *[]wireUser `json:"members"`
}

func (r refInfo) info() wireInfo {
	w := wireInfo{GroupID: r.GroupID, GroupName: r.GroupName, GroupType: r.GroupType, CreateTime: r.CreateTime,
		MemberCount: r.MemberCount, Subscribers: wireUsers(r.Subscribers)}
	if r.Members != nil {
		m := wireUsers(*r.Members)
		w.Members = &m
	}
	return w
}

var fastDecodeSeeds = []string{
	`{"code":"10000","var":{"groupId":"1234","groupName":"测试","groupType":"topic","createTime":1538969841000,"memberCount":2,"subscribers":[],"members":[{"userId":"16","email":"a@b.cd","userName":""},{"userId":7,"email":"x@y.zz","userName":"真的","role":1}]}}`,
	`{"code":10000,"var":{"members":["a@b.cd","17",{"userId":null,"email":"c@d.ef"}],"subscribers":null}}`,
	`{"code":"10000","var":{"members":null}}`,
	`{"code":"10000","var":{"Members":[]}}`,
	`{"code":"10000","var":{"members":[{"USERID":"5"}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"5","extra":true,"x":null,"n":-1.5e3}],"other":"x"}}`,
	`{"code":"10000","var":{"members":[{"userId":"5\u0030"}]}}`,
	`{"code":"10000","var":{"members":[{"role":"5"}]}}`,
	`{"code":"10000","var":{"members":[{"role":01}]}}`,
	`{"code":"10000","var":{"members":[{"email":5}]}}`,
	`{"code":"10000","var":{"members":[1,null]}}`,
	`{"code":"10000","var":{"groupId":null,"members":[]}, "msg":"x"}`,
	`{"code":"10001","var":{"members":[]}}`,
	`{"code":"10000","var":{"members":[]}}x`,
	`{"code":"10000","var":{"members":[{"userId":tru}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"1"},]}}`,
	"{\"code\":\"10000\",\"var\":{\"members\":[{\"userName\":\"a\tb\"}]}}",
	"{\"code\":\"10000\",\"var\":{\"members\":[{\"userName\":\"\xff\"}]}}",
}

func TestFastDecodeAgrees(t *testing.T) {
	for _, s := range fastDecodeSeeds {
		checkFastDecode(t, []byte(s))
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, s := range fastDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Add(fixture(f, "info_response.json"))
	f.Fuzz(checkFastDecode)
}

// checkFastDecode: whatever the one-pass decoders accept, encoding/json
// reads alike.
func checkFastDecode(t *testing.T, body []byte) {
	if w, ok := scanInfoAnswer(body); ok {
		payload, err := openEnvelope(CallInfo, body, "")
		if err != nil || payload == nil {
			t.Fatalf("scanInfoAnswer accepted %q, openEnvelope says %v (payload %q)", body, err, payload)
		}
		var ref refInfo
		if err := json.Unmarshal(payload, &ref); err != nil {
			t.Fatalf("scanInfoAnswer accepted %q, encoding/json says %v", body, err)
		}
		if diff := cmp.Diff(ref.info(), w); diff != "" {
			t.Errorf("scanInfoAnswer(%q) differs from encoding/json (-json +scan):\n%s", body, diff)
		}
	}
	var env struct{ Var json.RawMessage }
	if json.Unmarshal(body, &env) != nil || len(env.Var) == 0 {
		return
	}
	if w, ok := scanInfo(env.Var); ok {
		var ref refInfo
		if err := json.Unmarshal(env.Var, &ref); err != nil {
			t.Fatalf("scanInfo accepted %q, encoding/json says %v", env.Var, err)
		}
		if diff := cmp.Diff(ref.info(), w); diff != "" {
			t.Errorf("scanInfo(%q) differs from encoding/json (-json +scan):\n%s", env.Var, diff)
		}
	}
}

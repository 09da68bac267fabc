package lunkr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
	// ids checked where they stand: each of these fails the id rules
	`{"code":"10000","var":{"members":[{"userId":"012","email":"a@b.cd"}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"5","email":"a@b.cd."}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"5","email":"a@-b.cd"}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"12345678901234567890"}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"5","userId":"x"}]}}`,
	`{"code":"10000","var":{"members":[{"email":"a@b.cd","email":"x@y"}]}}`,
	`{"code":"10000","var":{"members":[{"userId":"5", "userId" :"x"}]}}`,
	`{"code":"10000","var":{"members":[{"email":"a@b.cd", "email" :"x"}]}}`,
	`{"code":"10000","var":{"members":[{"email":"` + strings.Repeat("a", 250) + `@b.cd"}]}}`,
	`{"code":"10000","var":{"members":["x"]}}`,
	// the general path and the last of a repeated field
	`{"code":"10000","var":{"members":[{ "userId" : "5" , "email":"a@b.cd" }],"members":null}}`,
	`{"code":"10000","var":{"members":[{"userId":"5","userId":null,"email":"a@b.cd","email":null}]}}`,
	`{"code":"10000","var":{"members":[],"subscribers":["a@b.cd"],"subscribers":null,"memberCount":3}}`,
	`{"code":"10000","var":{"memberCount":1,"members":[{"userId":"5","userName":"张三","role":0}],"members":[{"email":"q@r.st"}]}}`,
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
	if g, ok := scanInfoAnswer(body, "1"); ok {
		payload, err := openEnvelope(CallInfo, body, "")
		if err != nil || payload == nil {
			t.Fatalf("scanInfoAnswer accepted %q, openEnvelope says %v (payload %q)", body, err, payload)
		}
		want, err := decodeInfoVar(payload, "1")
		if err != nil {
			t.Fatalf("scanInfoAnswer accepted %q, encoding/json says %v", body, err)
		}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("scanInfoAnswer(%q) differs from encoding/json (-json +scan):\n%s", body, diff)
		}
	}
	var env struct{ Var json.RawMessage }
	if json.Unmarshal(body, &env) != nil || len(env.Var) == 0 {
		return
	}
	if g, ok := scanInfo(env.Var, "1"); ok {
		want, err := decodeInfoVar(env.Var, "1")
		if err != nil {
			t.Fatalf("scanInfo accepted %q, encoding/json says %v", env.Var, err)
		}
		if diff := cmp.Diff(want, g); diff != "" {
			t.Errorf("scanInfo(%q) differs from encoding/json (-json +scan):\n%s", env.Var, diff)
		}
	}
}

// The one-pass decoder reads the answers the vendor sends (the page's
// example and the simulator's), or it would be a fast path never taken.
func TestFastDecodeTakesTheCommonAnswer(t *testing.T) {
	for name, body := range map[string][]byte{
		"the page's example":     fixture(t, "info_response.json"),
		"the simulator's answer": infoAnswer(200),
		"bare strings":           []byte(`{"code":"10000","var":{"groupId":"9","members":["a@b.cn","17"],"subscribers":["c@d.cn"]}}`),
	} {
		g, ok := scanInfoAnswer(body, "1")
		if !ok {
			t.Errorf("%s: scanInfoAnswer leaves it to encoding/json", name)
			continue
		}
		var env struct{ Var json.RawMessage }
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		want, err := decodeInfoVar(env.Var, "1")
		if err != nil || !cmp.Equal(g, want) || len(g.Members) == 0 {
			t.Errorf("%s: scanInfoAnswer = %+v, encoding/json = %+v, %v", name, g, want, err)
		}
	}
}

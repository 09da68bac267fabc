package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
)

// TestLunkrRecoveryNeedsProofOfCreateTime: a lost create is recovered only
// from a group the vendor says was created since the intent. A same-named
// group whose answer carries no createTime may be one made long before: it
// is neither adopted nor taken as proof that nothing was made.
func TestLunkrRecoveryNeedsProofOfCreateTime(t *testing.T) {
	started := time.Now().UTC()
	tests := []struct {
		name        string
		createTime  string // the info answer's createTime member, "" for none
		wantRecover bool
		wantErr     bool
	}{
		{"created since the intent: recovered", fmt.Sprintf(`"createTime": %d,`, started.Add(time.Second).UnixMilli()), true, false},
		{"created long before: not taken", fmt.Sprintf(`"createTime": %d,`, started.Add(-24*time.Hour).UnixMilli()), false, false},
		{"no createTime: cannot tell, blocked", "", false, true},
		{"createTime 0: cannot tell, blocked", `"createTime": 0,`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/groups/list", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"code":"10000","var":{"topic":[{"userId":"10503","email":"t..1@robot.lunkr.cn","userName":"研发讨论"}],"group":[],"sysTopic":[]}}`)
			})
			mux.HandleFunc("/groups/info", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"code":"10000","var":{"groupId":"10503","groupName":"研发讨论","groupType":"topic",%s"memberCount":1,"subscribers":[],"members":[{"userId":"7","email":"alice@example.com","userName":"alice"}]}}`, tt.createTime)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c := lunkr.New(&vendors.Transport{BaseURL: srv.URL + "/", Token: vendors.StaticToken("coremail", "tok"), MaxAttempts: 1})
			g := &spec.Group{Key: "dev", Provider: "coremail", Vendor: spec.Vendor("lunkr"), Name: "研发讨论", Type: spec.TypeTopic,
				Members: []*spec.Member{{ID: "alice@example.com"}}}
			m := &spec.Manifest{Groups: []*spec.Group{g}}
			intents := []state.Intent{{ID: 1, Key: "dev", Provider: "coremail", Kind: state.IntentCreate, Name: g.Name, StartedAt: started}}
			obs := reconcile.Observe(context.Background(), m, nil, intents, map[string]vendors.Client{"coremail": c}, 1, time.Now)["dev"]
			if got := obs.RecoveredID != ""; got != tt.wantRecover {
				t.Errorf("recovered %q, want recovery %v", obs.RecoveredID, tt.wantRecover)
			}
			if got := obs.RecoveryErr != nil; got != tt.wantErr {
				t.Errorf("recovery error %v, want an error: %v", obs.RecoveryErr, tt.wantErr)
			}
			p := reconcile.Build(reconcile.Input{Manifest: m, Intents: intents, Observed: map[string]reconcile.Observation{"dev": obs}, Now: started})
			if gp := p.Groups[0]; tt.wantErr && (gp.Create != nil || gp.Bind != nil) {
				t.Errorf("plan after an unprovable search: bind %+v create %+v, want the group blocked", gp.Bind, gp.Create)
			}
		})
	}
}

// TestLunkrRecoverySearchesTheNameSent: the search looks for the name the
// lost create sent (the intent's), not the manifest's current one: a name
// changed since must not make the search miss the group and create it again.
func TestLunkrRecoverySearchesTheNameSent(t *testing.T) {
	started := time.Now().UTC()
	tests := []struct {
		name       string
		sent       string // the intent's name
		manifest   string
		wantBind   reconcile.BindKind
		wantCreate bool
	}{
		{"same name: recovered", "研发讨论", "研发讨论", reconcile.BindRecover, false},
		{"renamed in the manifest since: still recovered", "研发讨论", "研发中心讨论", reconcile.BindRecover, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/groups/list", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"code":"10000","var":{"topic":[{"userId":"10503","email":"t..1@robot.lunkr.cn","userName":%q}],"group":[],"sysTopic":[]}}`, tt.sent)
			})
			mux.HandleFunc("/groups/info", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"code":"10000","var":{"groupId":"10503","groupName":%q,"groupType":"topic","createTime":%d,"memberCount":1,"subscribers":[],"members":[{"userId":"7","email":"alice@example.com","userName":"alice"}]}}`,
					tt.sent, started.Add(time.Second).UnixMilli())
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c := lunkr.New(&vendors.Transport{BaseURL: srv.URL + "/", Token: vendors.StaticToken("coremail", "tok"), MaxAttempts: 1})
			g := &spec.Group{Key: "dev", Provider: "coremail", Vendor: spec.Vendor("lunkr"), Name: tt.manifest, Type: spec.TypeTopic,
				Members: []*spec.Member{{ID: "alice@example.com"}}}
			m := &spec.Manifest{Groups: []*spec.Group{g}}
			intents := []state.Intent{{ID: 1, Key: "dev", Provider: "coremail", Kind: state.IntentCreate, Name: tt.sent, StartedAt: started}}
			obs := reconcile.Observe(context.Background(), m, nil, intents, map[string]vendors.Client{"coremail": c}, 1, time.Now)
			p := reconcile.Build(reconcile.Input{Manifest: m, Intents: intents, Observed: obs, Now: started})
			gp := p.Groups[0]
			if gp.Bind == nil || gp.Bind.Kind != tt.wantBind || (gp.Create != nil) != tt.wantCreate {
				t.Fatalf("plan: bind %+v create %+v errors %+v, want %s", gp.Bind, gp.Create, gp.Errors, tt.wantBind)
			}
		})
	}
}

// TestLunkrRecoverySearchesTheMemberAndTypeSent: the search lists the groups
// of the member the lost create sent first, and matches the type it sent,
// so a manifest changed since (other first member, other type) does not
// make the search miss the group and create it a second time.
func TestLunkrRecoverySearchesTheMemberAndTypeSent(t *testing.T) {
	started := time.Now().UTC()
	mux := http.NewServeMux()
	mux.HandleFunc("/groups/list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("userId") != "alice@example.com" {
			fmt.Fprint(w, `{"code":"10000","var":{"topic":[],"group":[],"sysTopic":[]}}`)
			return
		}
		fmt.Fprint(w, `{"code":"10000","var":{"topic":[],"group":[],"sysTopic":[{"userId":"10503","email":"s..1@robot.lunkr.cn","userName":"运维广播","role":0}]}}`)
	})
	mux.HandleFunc("/groups/info", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"code":"10000","var":{"groupId":"10503","groupName":"运维广播","groupType":"sysTopic","createTime":%d,"memberCount":1,"subscribers":[],"members":[{"userId":"7","email":"alice@example.com","userName":"alice"}]}}`,
			started.Add(time.Second).UnixMilli())
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := lunkr.New(&vendors.Transport{BaseURL: srv.URL + "/", Token: vendors.StaticToken("coremail", "tok"), MaxAttempts: 1})
	// Since the lost create, the manifest put bob first and made it a topic.
	g := &spec.Group{Key: "ops", Provider: "coremail", Vendor: spec.Vendor("lunkr"), Name: "运维广播", Type: spec.TypeTopic,
		Members: []*spec.Member{{ID: "bob@example.com"}, {ID: "alice@example.com"}}}
	m := &spec.Manifest{Groups: []*spec.Group{g}}
	intents := []state.Intent{{ID: 1, Key: "ops", Provider: "coremail", Kind: state.IntentCreate, Name: "运维广播",
		Type: spec.TypeSysTopic, Member: "alice@example.com", StartedAt: started}}
	obs := reconcile.Observe(context.Background(), m, nil, intents, map[string]vendors.Client{"coremail": c}, 1, time.Now)
	p := reconcile.Build(reconcile.Input{Manifest: m, Intents: intents, Observed: obs, Now: started})
	gp := p.Groups[0]
	if gp.Bind == nil || gp.Bind.Kind != reconcile.BindRecover || gp.Bind.GroupID != "10503" || gp.Create != nil {
		t.Fatalf("plan: bind %+v create %+v errors %+v, want group 10503 recovered and no create", gp.Bind, gp.Create, gp.Errors)
	}
}

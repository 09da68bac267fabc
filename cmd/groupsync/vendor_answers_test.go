package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/state"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// answersEnv is one Yunzhijia and one Lunkr simulator over real HTTP, a
// manifest of one new group on each, and a state file.
type answersEnv struct {
	*cli
	yzj      *yunzhijia.Simulator
	lk       *lunkr.Simulator
	manifest string
}

const (
	answersYzjToken = "yzj-tok/+=="
	answersLkToken  = "lk-tok/+=="
)

func newAnswersEnv(t *testing.T) *answersEnv {
	e := &answersEnv{cli: newCLI(t), yzj: yunzhijia.NewSimulator(answersYzjToken), lk: lunkr.NewSimulator(answersLkToken)}
	ys, ls := httptest.NewServer(e.yzj), httptest.NewServer(e.lk)
	t.Cleanup(ys.Close)
	t.Cleanup(ls.Close)
	e.env["YZJ_TOKEN"], e.env["LK_TOKEN"] = answersYzjToken, answersLkToken
	e.manifest = filepath.Join(e.dir, "groups.yaml")
	text := fmt.Sprintf(`version: 1
providers:
  kd:
    vendor: yunzhijia
    endpoint: %s/
    token: ${YZJ_TOKEN}
    operator: 5b503ee9e4b02abb5318b23e
  cm:
    vendor: lunkr
    endpoint: %s/
    token: ${LK_TOKEN}
groups:
  - {key: newg, provider: kd, name: New group, members: [5b6cea82e4b05df05b3efc2b]}
  - {key: lkg, provider: cm, name: Mail group, members: [alice@example.com]}
`, ys.URL, ls.URL)
	if err := os.WriteFile(e.manifest, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *answersEnv) cmd(args ...string) result {
	e.t.Helper()
	return e.run(append(args, "-f", e.manifest, "--state", e.state, "--parallelism", "1")...)
}

// noControl fails when s holds a control character other than a newline.
func noControl(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f) {
			t.Errorf("%s holds control character %U:\n%q", what, r, s)
			return
		}
	}
}

// Issue 11 item 4, replayed: a create answered with a group id of the
// wrong shape is an unknown outcome. Nothing is bound, the state shows no
// such id, nothing is printed raw, and the group is not created again.
func TestCLICreateAnsweredWithBadID(t *testing.T) {
	yzjBad := map[string]string{
		"not-a-hex-id":                          `"not-a-hex-id"`,
		strings.Repeat("f", 5000):               `"` + strings.Repeat("f", 40) + `"…`,
		"5bee7172e4b0f6bb\x1b[2J\x1b]0;pwned\a": `"5bee7172e4b0f6bb\x1b[2J\x1b]0;pwned\a"`,
		"5bee7172e4b0f6bbaa32b4b\n":             `"5bee7172e4b0f6bbaa32b4b\n"`,
	}
	for bad, shown := range yzjBad {
		t.Run(fmt.Sprintf("yunzhijia-%.12q", bad), func(t *testing.T) {
			e := newAnswersEnv(t)
			e.yzj.BadIDNext(yunzhijia.CallCreateGroup, bad, 1)
			r := e.cmd("apply", "--auto-approve", "--log-format", "json").wantCode(t, 1)
			want := "! newg: create: yunzhijia createGroup: outcome unknown (code 200): unreadable answer: data: groupId " + shown + " is not a yunzhijia id (24 hexadecimal digits)\n"
			if !strings.Contains(r.stdout, want) {
				t.Errorf("apply output lacks\n%s\ngot:\n%s", want, r.stdout)
			}
			checkNoBadID(t, e, bad, r)
			if b := e.bindings(); b["newg"].GroupID != "" {
				t.Errorf("newg bound to %q", b["newg"].GroupID)
			}
			// The next plan blocks the group (settled: a person's part);
			// apply does not create it again.
			p := e.cmd("plan", "--settle", "0").wantCode(t, 1)
			if !strings.Contains(p.stdout, "create sent at") || !strings.Contains(p.stdout, "has an unknown outcome") {
				t.Errorf("plan does not block newg:\n%s", p.stdout)
			}
			checkNoBadID(t, e, bad, p)
			e.cmd("apply", "--auto-approve").wantCode(t, 1)
			if n := e.yzj.Calls()[yunzhijia.CallCreateGroup]; n != 1 {
				t.Errorf("createGroup sent %d times, want once", n)
			}
			for _, args := range [][]string{{"state", "list"}, {"state", "show", "newg"}} {
				s := e.run(append(args, "--state", e.state)...).wantCode(t, 0)
				checkNoBadID(t, e, bad, s)
				if strings.Contains(s.stdout, strings.TrimSpace(bad[:min(len(bad), 16)])) {
					t.Errorf("%s shows the bad id:\n%s", strings.Join(args, " "), s.stdout)
				}
			}
		})
	}
	t.Run("lunkr", func(t *testing.T) {
		e := newAnswersEnv(t)
		bad := "abc&accessToken=evil"
		e.lk.BadIDNext(lunkr.CallCreate, bad, 1)
		r := e.cmd("apply", "--auto-approve").wantCode(t, 1)
		want := `! lkg: create: lunkr groups/create: outcome unknown (code 200): unreadable answer: groupId "abc&accessToken=evil" is not a lunkr group id (a decimal number)` + "\n"
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks\n%s\ngot:\n%s", want, r.stdout)
		}
		checkNoBadID(t, e, bad, r)
		// The recovery finds the group the create made, by its real id.
		e.cmd("apply", "--auto-approve").wantCode(t, 0)
		groups := e.lk.Groups()
		if len(groups) != 1 || e.bindings()["lkg"].GroupID != groups[0].ID {
			t.Errorf("lunkr groups %+v, binding %+v: want the one group recovered", groups, e.bindings()["lkg"])
		}
		if n := e.lk.Calls()[lunkr.CallCreate]; n != 1 {
			t.Errorf("groups/create sent %d times, want once", n)
		}
		e.cmd("plan", "--detailed-exitcode").wantCode(t, 0)
	})
}

// checkNoBadID: the bad id is neither bound nor printed raw.
func checkNoBadID(t *testing.T, e *answersEnv, bad string, r result) {
	t.Helper()
	for _, b := range e.bindings() {
		if b.GroupID == bad {
			t.Errorf("the state binds %s to the bad id", b.Key)
		}
	}
	what := "groupsync " + strings.Join(r.args, " ")
	noControl(t, "stdout of "+what, r.stdout)
	noControl(t, "stderr of "+what, r.stderr)
	if len(bad) > 100 && (strings.Contains(r.stdout, bad) || strings.Contains(r.stderr, bad)) {
		t.Errorf("%s prints the whole %d-character id", what, len(bad))
	}
}

// Issue 11 item 7, replayed: each failure is said once, with the key once.
func TestCLIMessagesSaidOnce(t *testing.T) {
	e := newAnswersEnv(t)
	e.yzj.FailNextAfterApply(yunzhijia.CallCreateGroup, 1)
	e.lk.ForceCode(lunkr.CallCreate, lunkr.CodeNoPermission, 1)
	r := e.cmd("apply", "--auto-approve").wantCode(t, 1)
	for _, want := range []string{
		`! newg: create: yunzhijia createGroup: outcome unknown (code 500): {"success":false,"data":null,"error":"internal error","errorCode":500}` + "\n",
		"! lkg: create: lunkr groups/create: no permission (code 10006): forced code 10006\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks\n%s\ngot:\n%s", want, r.stdout)
		}
	}
	for _, twice := range []string{"group newg:", "group lkg:", "unreadable answer: unreadable answer"} {
		if strings.Contains(r.stdout, twice) {
			t.Errorf("apply output repeats %q:\n%s", twice, r.stdout)
		}
	}
}

// Every failure of a group gets its own line, each naming the key once.
func TestErrorLines(t *testing.T) {
	err := errors.Join(
		fmt.Errorf("group g1: add 2 members: %w", errors.New("yunzhijia addGroupUser: no permission")),
		errors.New(`group g1: post notice "Hi": yunzhijia notice/create: bad request`),
		errors.New("abandon intent: disk full"),
	)
	got := errorLines("g1", err)
	want := []string{"add 2 members: yunzhijia addGroupUser: no permission", `post notice "Hi": yunzhijia notice/create: bad request`, "abandon intent: disk full"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("errorLines = %q, want %q", got, want)
	}
}

// A state written before answers were checked may hold an id with control
// characters: `state list` and `state show` print it escaped.
func TestCLIStatePrintsEscaped(t *testing.T) {
	c := newCLI(t)
	store := c.open()
	ctx := context.Background()
	bad := "5bee\x1b]0;pwned\a\x1b[2J\n\u202e"
	if err := store.Bind(ctx, state.Binding{Key: "old", Provider: "kd", GroupID: bad, Origin: state.OriginCreated}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveReads(ctx, []state.Read{{Key: "old", Provider: "kd", GroupID: bad, Group: vendors.Group{ID: bad, Name: "n\x1b[31m"}}}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	list := c.run("state", "list", "--state", c.state).wantCode(t, 0)
	show := c.run("state", "show", "old", "--state", c.state).wantCode(t, 0)
	for _, r := range []result{list, show} {
		noControl(t, "stdout of "+strings.Join(r.args, " "), r.stdout)
		if strings.ContainsRune(r.stdout, '\u202e') {
			t.Errorf("%s prints a bidirectional override raw:\n%s", strings.Join(r.args, " "), r.stdout)
		}
		if !strings.Contains(r.stdout, `5bee\x1b]0;pwned\a\x1b[2J\n\u202e`) {
			t.Errorf("%s does not show the id escaped:\n%s", strings.Join(r.args, " "), r.stdout)
		}
	}
	if !strings.Contains(show.stdout, `named "n\x1b[31m"`) {
		t.Errorf("state show does not show the name escaped:\n%s", show.stdout)
	}
}

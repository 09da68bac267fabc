package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupsync/internal/reconcile"
	"groupsync/internal/state"
	"groupsync/internal/vendors/wecom"
)

// chosenRig is the binary against a simulator of a vendor whose client
// chooses group ids (WeCom), behind a chaos layer with latency, and a
// manifest of its groups.
type chosenRig struct {
	t        *testing.T
	sim      *wecom.Simulator
	ch       *chaos
	cli      *cli
	manifest string
	state    string
	groups   int
	text     string // the manifest
}

// addGroups adds n groups named with prefix to the manifest.
func (r *chosenRig) addGroups(prefix string, n int) {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  - key: %s-%03d\n    provider: corp\n    name: %s %03d\n    owner: owner%d\n    members: [m%da, m%db]\n", prefix, i, prefix, i, i, i, i)
	}
	r.text += b.String()
	r.groups += n
	must(r.t, os.WriteFile(r.manifest, []byte(r.text), 0o600))
}

const chosenRigToken = "wecom-rig-token"

func newChosenRig(t *testing.T, groups int, prefix string) *chosenRig {
	t.Helper()
	r := &chosenRig{t: t, sim: wecom.NewSimulator(chosenRigToken), groups: groups}
	r.ch = &chaos{next: r.sim}
	srv := httptest.NewServer(r.ch)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nproviders:\n  corp:\n    vendor: wecom\n    endpoint: %s/cgi-bin/\n    token: ${WECOM_TOKEN}\n    prune: true\ngroups:\n", srv.URL)
	for i := range groups {
		fmt.Fprintf(&b, "  - key: %s-%03d\n    provider: corp\n    name: %s %03d\n    owner: owner%d\n    members: [m%da, m%db, m%dc]\n", prefix, i, prefix, i, i, i, i, i)
	}
	r.manifest = filepath.Join(dir, "groups.yaml")
	r.text = b.String()
	must(t, os.WriteFile(r.manifest, []byte(r.text), 0o600))
	r.state = filepath.Join(dir, "groupsync.db")
	r.cli = newCLI(t, dir, "WECOM_TOKEN="+chosenRigToken)
	return r
}

func (r *chosenRig) applyArgs() []string {
	// --settle is long: a chosen id needs none, and must not wait for it.
	// The creates and removals are the campaign's: in soak, runs killed
	// before them leave the next one more than the limits' defaults.
	return []string{"apply", "--auto-approve", "-f", r.manifest, "--state", r.state, "--settle", "1h", "--max-new-groups", "100000", "--max-removals", "100000"}
}

// checkNoDuplicates fails on two chats of one name.
func (r *chosenRig) checkNoDuplicates(when string) {
	r.t.Helper()
	seen := map[string]string{}
	for _, g := range r.sim.Groups() {
		if other, dup := seen[g.Name]; dup {
			r.t.Errorf("%s: two chats named %q: %s and %s", when, g.Name, other, g.ID)
		}
		seen[g.Name] = g.ID
	}
}

func (r *chosenRig) openIntents() []state.Intent {
	s, err := state.Open(r.state)
	must(r.t, err)
	defer s.Close()
	ctx := context.Background()
	must(r.t, s.IntegrityCheck(ctx))
	in, err := s.OpenIntents(ctx)
	must(r.t, err)
	return in
}

// planNeedsNoPerson plans and fails on any error that asks a person to
// act (an unknown create or post, a failed search).
func (r *chosenRig) planNeedsNoPerson(when string) *reconcile.Plan {
	r.t.Helper()
	res := r.cli.runOK(r.t, []string{"plan", "--format", "json", "-f", r.manifest, "--state", r.state, "--settle", "1h"}, 0, 1)
	var p reconcile.Plan
	if err := json.Unmarshal([]byte(res.stdout), &p); err != nil {
		r.t.Fatalf("plan --format json: %v\n%s", err, res)
	}
	for _, g := range p.Groups {
		for _, e := range g.Errors {
			r.t.Errorf("%s: group %s needs a person: %s: %s (%s)", when, g.Key, e.Kind, e.Message, e.Fix)
		}
	}
	return &p
}

// TestCrashKill9ChosenIDs: the binary's apply of WeCom groups (creates,
// then renames, adds and prunes), killed with SIGKILL at random points and
// rerun with no person in between: after every kill no chat is made twice
// and the next plan asks nothing of a person; in the end every group is
// bound to its one chat, no intent is open, and a plan makes no write.
func TestCrashKill9ChosenIDs(t *testing.T) {
	groupsyncBinary(t)
	rng := rand.New(rand.NewPCG(20261129, 15))
	kills := sized(16, 300)
	r := newChosenRig(t, sized(8, 20), "wc")
	r.ch.set(chaosConfig{MinLatency: 20 * time.Millisecond, MaxLatency: 60 * time.Millisecond, Seed: 15})

	start := time.Now()
	r.cli.runOK(t, r.applyArgs())
	full := time.Since(start)
	// Start over: a fresh vendor and state for the campaign.
	r.sim.Restore([]byte(`{"chats":{}}`))
	must(t, os.Remove(r.state))
	r.sim.ResetCalls()

	open, finished := 0, 0
	for k := range kills {
		if k > 0 && k%4 == 0 {
			// A new episode: new groups to create, so that kills land on creates.
			r.addGroups(fmt.Sprintf("ep%02d", k/4), 4)
		}
		if k == kills/2 {
			// The second half: every chat gains a stranger, to be pruned.
			for _, g := range r.sim.Groups() {
				g.Members = append(g.Members, g.Members[0])
				g.Members[len(g.Members)-1].ID = fmt.Sprintf("stranger%d", k)
				r.sim.SeedGroup(g)
			}
		}
		// Up to twice an apply from scratch: a run that settles lost creates
		// first takes longer, and some runs must finish.
		delay := time.Duration(rng.Int64N(2*int64(full) + 1))
		res, killed := r.cli.killAfter(t, delay, r.applyArgs()...)
		if !killed {
			finished++
			if res.code != 0 {
				t.Fatalf("apply not killed failed:\n%s", res)
			}
		}
		r.checkNoDuplicates(fmt.Sprintf("after kill %d at %v", k, delay))
		if n := len(r.openIntents()); n > 0 {
			open++
		}
		r.planNeedsNoPerson(fmt.Sprintf("after kill %d", k))
		if t.Failed() {
			return
		}
	}
	r.cli.runOK(t, r.applyArgs())
	r.checkNoDuplicates("at the end")
	if in := r.openIntents(); len(in) != 0 {
		t.Errorf("open intents after the last apply: %+v", in)
	}
	p := r.planNeedsNoPerson("at the end")
	if p.Summary.WriteCalls != 0 || len(r.sim.Groups()) != r.groups {
		t.Errorf("after the last apply: %d write calls planned, %d chats; want 0 and %d", p.Summary.WriteCalls, len(r.sim.Groups()), r.groups)
	}
	t.Logf("%d kill points; %d runs finished first; %d left an open create (settled by a read, no person)", kills, finished, open)
	if open == 0 {
		t.Errorf("no kill left a create of unknown outcome: the kill points missed the creates")
	}
}

// TestFaultsConvergeChosenIDs: WeCom creates and updates under lost
// answers, dropped connections, 503 and 429: applies repeated with no
// person converge, no chat is made twice, no intent stays open.
func TestFaultsConvergeChosenIDs(t *testing.T) {
	groupsyncBinary(t)
	r := newChosenRig(t, 10, "wf")
	r.sim.SetFaults(wecom.Faults{LoseAnswerRate: 0.3, DropRate: 0.2, Status503Rate: 0.2, Status429Rate: 0.1, Seed: 7})
	for round := range 6 {
		res := r.cli.run(t, r.applyArgs()...)
		r.checkNoDuplicates(fmt.Sprintf("after apply %d", round))
		if res.code != 0 && res.code != 1 {
			t.Fatalf("apply %d:\n%s", round, res)
		}
	}
	r.sim.SetFaults(wecom.Faults{})
	r.cli.runOK(t, r.applyArgs())
	r.checkNoDuplicates("quiet")
	if in := r.openIntents(); len(in) != 0 {
		t.Errorf("open intents: %+v", in)
	}
	if p := r.planNeedsNoPerson("quiet"); p.Summary.WriteCalls != 0 || len(r.sim.Groups()) != r.groups {
		t.Errorf("quiet plan: %d writes, %d chats", p.Summary.WriteCalls, len(r.sim.Groups()))
	}
}

// TestSecretsNeverLeakWeCom: a WeCom provider's corpSecret (from the
// environment) and the tokens gettoken issues appear in no output and no
// file: plan, apply (JSON logs), plan --format json, a run after the
// tokens were revoked (fetched again), state list; a gettoken refusing
// the secret; one echoing the request, secret included, in its error.
func TestSecretsNeverLeakWeCom(t *testing.T) {
	groupsyncBinary(t)
	for _, secret := range secretTokens {
		sim := wecom.NewSimulator()
		sim.SetAuth("ww0123456789abcdef", secret, time.Hour)
		srv := httptest.NewServer(sim)
		defer srv.Close()
		dir := t.TempDir()
		scan := &leakScan{t: t, secret: secret}
		written := 0
		manifest := func(url string) string {
			written++
			path := filepath.Join(dir, fmt.Sprintf("groups-%d.yaml", written))
			text := fmt.Sprintf("version: 1\nproviders:\n  corp:\n    vendor: wecom\n    endpoint: %s/cgi-bin/\n    auth: {corpId: ww0123456789abcdef, corpSecret: \"${%s}\"}\n"+
				"groups:\n  - key: w1\n    provider: corp\n    name: W1\n    owner: a\n    members: [b, c]\n", url, tokenEnv)
			must(t, os.WriteFile(path, []byte(text), 0o600))
			return path
		}
		c := newCLI(t, dir, tokenEnv+"="+secret, "GROUPSYNC_STATE="+filepath.Join(dir, "groupsync.db"))
		run := func(args []string, codes ...int) result {
			t.Helper()
			r := c.runOK(t, args, codes...)
			scan.result(r)
			return r
		}
		m := manifest(srv.URL)
		run([]string{"plan", "-f", m})
		run([]string{"apply", "--auto-approve", "--log-format", "json", "-f", m})
		run([]string{"plan", "--format", "json", "-f", m})
		issued := sim.IssuedTokens()
		sim.RevokeTokens()
		run([]string{"run", "--once", "--log-format", "json", "-f", m})
		run([]string{"state", "list"})
		issued = append(issued, sim.IssuedTokens()...)
		if len(issued) < 2 {
			t.Fatalf("gettoken issued %d tokens, want a second after the revocation", len(issued))
		}

		wrong := wecom.NewSimulator()
		wrong.SetAuth("ww0123456789abcdef", "another-secret", time.Hour)
		ws := httptest.NewServer(wrong)
		run([]string{"plan", "-f", manifest(ws.URL)}, 1)
		ws.Close()

		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msg, _ := json.Marshal("invalid credential: " + r.URL.String())
			_, _ = w.Write([]byte(`{"errcode":40001,"errmsg":` + string(msg) + `}`))
		}))
		r := run([]string{"plan", "-f", manifest(echo.URL)}, 1)
		echo.Close()
		if !strings.Contains(r.stdout+r.stderr, "REDACTED") {
			t.Errorf("the gettoken echo of the request was not seen:\n%s", r)
		}
		scan.files(dir)
		for _, tok := range issued {
			(&leakScan{t: t, secret: tok}).files(dir)
		}
	}
}

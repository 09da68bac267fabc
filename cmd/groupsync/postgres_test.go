package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/state"
	"groupsync/internal/state/pgtest"
)

// TestCLIStateCopyRoundTrip copies an applied state file to PostgreSQL and
// back: every copy lists the same and plans the same, a non-empty target
// is refused without --force, and the password is never printed.
func TestCLIStateCopyRoundTrip(t *testing.T) {
	pg := pgtest.Location(t)
	secrets := state.LocationSecrets(pg)
	c := newCLI(t)
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	look := func(loc string) (list, plan string) {
		t.Helper()
		list = c.run("state", "list", "--state", loc).wantCode(t, 0).stdout
		plan = c.run("plan", "-f", example, "--state", loc, "--refresh=false", "--detailed-exitcode").wantCode(t, 3).stdout
		return list, plan
	}
	var outputs []result
	check := func(r result) result {
		t.Helper()
		outputs = append(outputs, r)
		return r
	}
	list0, plan0 := look(c.state)

	r := check(c.run("state", "copy", c.state, pg).wantCode(t, 0))
	if !strings.HasPrefix(r.stdout, "Copied ") || !strings.Contains(r.stdout, state.RedactLocation(pg)) {
		t.Errorf("state copy said %q", r.stdout)
	}
	list1, plan1 := look(pg)
	if list1 != list0 || plan1 != plan0 {
		t.Errorf("PostgreSQL copy lists or plans differently:\n%s\n%s\nvs\n%s\n%s", list0, plan0, list1, plan1)
	}
	r = check(c.run("state", "copy", c.state, pg).wantCode(t, 1))
	if !strings.Contains(r.stderr, "is not empty") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("a copy onto a non-empty state:\n%s", r.stderr)
	}
	check(c.run("state", "copy", "--force", c.state, pg).wantCode(t, 0))

	back := filepath.Join(c.dir, "back.db")
	check(c.run("state", "copy", pg, back).wantCode(t, 0))
	list2, plan2 := look(back)
	if list2 != list0 || plan2 != plan0 {
		t.Errorf("the copy back lists or plans differently:\n%s\n%s\nvs\n%s\n%s", list0, plan0, list2, plan2)
	}
	check(c.run("state", "list", "--state", "postgres://nobody:x@[bad"))
	for _, r := range outputs {
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("groupsync %s printed the password:\n%s%s", strings.Join(r.args, " "), r.stdout, r.stderr)
			}
		}
	}
}

// TestCLIPostgresDownOrRefused: a server that is down, or that refuses the
// login, is one clear error naming the state without its password, and no
// vendor is called.
func TestCLIPostgresDownOrRefused(t *testing.T) {
	base := pgtest.BaseURL(t)
	const password = "pw-SECRET-8f3a9c"
	wrong, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	wrong.User = url.UserPassword(wrong.User.Username(), password)
	locations := map[string]string{
		"down":              "postgres://groupsync:" + password + "@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5",
		"refused login":     wrong.String(),
		"password in URL":   "postgres://groupsync@127.0.0.1:1/postgres?sslmode=disable&password=" + password,
		"connection string": "host=127.0.0.1 port=1 dbname=postgres user=groupsync sslmode=disable connect_timeout=5 password='" + password + "'",
	}
	for name, loc := range locations {
		t.Run(name, func(t *testing.T) {
			e := newSchedEnv(t, 1)
			// A saved plan, of a state file: its apply looks for its seal
			// in the state named, then says why it cannot be opened, once.
			planFile := filepath.Join(t.TempDir(), "plan.json")
			if code := e.a.run(context.Background(), []string{"plan", "-f", e.manifest, "--out", planFile, "--state", filepath.Join(t.TempDir(), "s.db")}); code != exitOK {
				t.Fatalf("plan --out: exit %d\n%s", code, e.stderr.String())
			}
			for _, cmd := range [][]string{
				{"plan", "-f", e.manifest},
				{"apply", "-f", e.manifest, "--auto-approve"},
				{"apply", planFile},
				{"run", "--once", "-f", e.manifest},
				{"state", "list"},
			} {
				e.stderr.mu.Lock()
				e.stderr.b.Reset()
				e.stderr.mu.Unlock()
				args := append(cmd, "--state", loc)
				if code := e.a.run(context.Background(), args); code != exitError {
					t.Errorf("groupsync %s: exit %d, want 1", cmd[0], code)
				}
				got := e.stderr.String()
				if strings.Contains(got, password) {
					t.Errorf("groupsync %s printed the password:\n%s", cmd[0], got)
				}
				if strings.Count(got, "cannot connect to PostgreSQL") != 1 || !strings.Contains(got, "REDACTED") {
					t.Errorf("groupsync %s: not one clear error naming the state:\n%s", cmd[0], got)
				}
			}
			if calls := e.sim.Calls(); len(calls) != 0 {
				t.Errorf("vendor calls made: %v", calls)
			}
		})
	}
}

// TestCLIStateListShowsTheLock: state list names the holder of the lock,
// on a file and on PostgreSQL alike.
func TestCLIStateListShowsTheLock(t *testing.T) {
	for _, backend := range []string{"file", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			c := newCLI(t)
			loc := c.state
			if backend == "postgres" {
				loc = pgtest.Location(t)
			}
			st, err := state.Open(loc)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			unlock, err := st.Lock(context.Background(), "groupsync run", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			h, _, err := st.LockHolder(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			r := c.run("state", "list", "--state", loc).wantCode(t, 0)
			if !strings.Contains(r.stdout, "Locked by PID ") || !strings.Contains(r.stdout, "(groupsync run); lock id "+h.ID) {
				t.Errorf("state list does not show the lock:\n%s", r.stdout)
			}
			r = c.run("state", "forget", "ops", "--yes", "--state", loc).wantCode(t, 1)
			if !strings.Contains(r.stderr, "is locked by PID") || !strings.Contains(r.stderr, h.ID) {
				t.Errorf("state forget on a locked state:\n%s", r.stderr)
			}
		})
	}
}

func TestCLISandboxNeedsAFile(t *testing.T) {
	c := newCLI(t)
	r := c.run("plan", "--sandbox", "-f", example, "--state", "postgres://u:pw-x@127.0.0.1:1/db").wantCode(t, 1)
	if !strings.Contains(r.stderr, "--sandbox") || strings.Contains(r.stderr, "pw-x") {
		t.Errorf("plan --sandbox on PostgreSQL:\n%s", r.stderr)
	}
}

// TestCLIStateCopyTakesBothLocks: a copy from or to a locked state is
// refused, naming the lock, and copies nothing.
func TestCLIStateCopyTakesBothLocks(t *testing.T) {
	c := newCLI(t)
	c.sandbox("apply", "-f", example, "--auto-approve").wantCode(t, 0)
	target := filepath.Join(c.dir, "target.db")
	for _, locked := range []string{c.state, target} {
		st, err := state.Open(locked)
		if err != nil {
			t.Fatal(err)
		}
		unlock, err := st.Lock(context.Background(), "groupsync run", 0)
		if err != nil {
			t.Fatal(err)
		}
		r := c.run("state", "copy", c.state, target).wantCode(t, 1)
		if !strings.Contains(r.stderr, "is locked by PID") || !strings.Contains(r.stderr, locked) {
			t.Errorf("a copy with %s locked:\n%s", locked, r.stderr)
		}
		unlock()
		st.Close()
	}
	c.run("state", "copy", c.state, target).wantCode(t, 0)
	r := c.run("state", "copy", c.state, c.state).wantCode(t, 1)
	if !strings.Contains(r.stderr, "both the source and the target") {
		t.Errorf("a copy onto itself:\n%s", r.stderr)
	}
	r = c.run("state", "copy", filepath.Join(c.dir, "missing.db"), target).wantCode(t, 1)
	if !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("a copy from a missing file:\n%s", r.stderr)
	}
}

// TestCLISealedPlanOnPostgres: a plan saved from a PostgreSQL state, named
// by a URL or by a libpq connection string, is sealed there and applied
// without loading its manifest's groups again; the hint to apply it quotes
// the state for the shell and says that it lacks its password.
func TestCLISealedPlanOnPostgres(t *testing.T) {
	for name, form := range map[string]struct {
		loc  func(t *testing.T) string
		hint string
	}{
		"url":               {func(t *testing.T) string { return pgtest.Location(t) }, "apply it with `groupsync apply --state 'postgres://"},
		"connection string": {func(t *testing.T) string { return pgtest.Conninfo(t, pgtest.Location(t)) }, "apply it with `groupsync apply --state 'host="},
	} {
		t.Run(name, func(t *testing.T) {
			loc := form.loc(t)
			e := newSchedEnv(t, 3)
			planFile := filepath.Join(t.TempDir(), "plan.json")
			if code := e.a.run(context.Background(), []string{"plan", "-f", e.manifest, "--out", planFile, "--state", loc}); code != exitOK {
				t.Fatalf("plan --out: exit %d\n%s", code, e.stderr.String())
			}
			out := e.stderr.String()
			if !strings.Contains(out, form.hint) || !strings.Contains(out, "REDACTED") ||
				!strings.Contains(out, "(--state as you gave it: its password is not shown)") || strings.Contains(out, "not sealed") {
				t.Errorf("plan --out said:\n%s", out)
			}
			for _, p := range state.LocationSecrets(loc) {
				if strings.Contains(out, p) {
					t.Errorf("plan --out printed the password:\n%s", out)
				}
			}
			loads := countLoads(t)
			if code := e.a.run(context.Background(), []string{"apply", planFile, "--state", loc}); code != exitOK {
				t.Fatalf("apply: exit %d\n%s", code, e.stderr.String())
			}
			if *loads != 0 {
				t.Errorf("the apply of a sealed plan loaded the whole manifest %d times", *loads)
			}
			if n := len(e.sim.Groups()); n != 3 {
				t.Errorf("%d groups, want 3", n)
			}
		})
	}
}

// TestCLIExportFromPostgres: export reads the bindings of a PostgreSQL
// state, named by a URL or by a connection string, and writes nothing to
// it; an empty schema is no state.
func TestCLIExportFromPostgres(t *testing.T) {
	for name, conninfo := range map[string]bool{"url": false, "connection string": true} {
		t.Run(name, func(t *testing.T) {
			e := newExportEnv(t)
			e.state = pgtest.Location(t)
			if conninfo {
				e.state = pgtest.Conninfo(t, e.state)
			}
			e.cmd("export", "-f", e.providers, "--provider", "coremail", "--from-state").wantCode(t, 1)
			r := e.cmd("export", "-f", e.providers, "--provider", "coremail", "--member", "alice").wantCode(t, 0)
			exported := filepath.Join(e.dir, "exported.yaml")
			if err := os.WriteFile(exported, []byte(r.stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			e.cmd("apply", "-f", e.providers, "-f", exported, "--auto-approve").wantCode(t, 0)
			serial := func() int64 {
				st, err := state.Open(e.state)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				n, err := st.Serial(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := serial()
			again := e.cmd("export", "-f", e.providers, "--provider", "coremail", "--from-state").wantCode(t, 0)
			if body(again.stdout) != body(r.stdout) {
				t.Errorf("export --from-state:\n%s\nwant as exported:\n%s", again.stdout, r.stdout)
			}
			if after := serial(); after != before {
				t.Errorf("export changed the state: serial %d -> %d", before, after)
			}
			for _, p := range state.LocationSecrets(e.state) {
				if strings.Contains(again.stdout+again.stderr, p) {
					t.Error("export printed the password")
				}
			}
		})
	}
}

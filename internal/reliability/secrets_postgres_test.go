package reliability

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make the test role

	"groupsync/internal/state/pgtest"
)

// pgSecret is the password of the PostgreSQL role the leak test logs in
// as: the needle, and characters a URL escapes.
const pgSecret = "pw-" + secretNeedle + "/+=="

// TestSecretsNeverLeakPostgres runs the commands with the state in
// PostgreSQL, logging in with a distinctive password given in the URL (in
// --state and GROUPSYNC_STATE), in PGPASSWORD, or wrong, or to a server
// that is down, and checks that the password appears in no output and no
// file.
func TestSecretsNeverLeakPostgres(t *testing.T) {
	base := pgtest.BaseURL(t)
	groupsyncBinary(t)
	role := pgRole(t, base)
	loc := pgtest.Location(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	if _, err := admin.Exec("GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role); err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, pgSecret)
	withPassword := u.String()
	u.User = url.User(role)
	bare := u.String()
	u.User = url.UserPassword(role, pgSecret+"-wrong")
	wrong := u.String()
	down := "postgres://" + role + ":" + url.PathEscape(pgSecret) + "@127.0.0.1:1/groupsync?sslmode=disable&connect_timeout=5"
	// The same as libpq key=value connection strings.
	conninfo, conninfoDown := pgtest.Conninfo(t, withPassword), pgtest.Conninfo(t, down)

	w := newVendorWorld(t, "pg-token")
	dir := t.TempDir()
	manifest := writeManifest(t, dir, w.yzjURL, w.lkURL, envToken, fleet{Prefix: "pg", Yunzhijia: 2, Lunkr: 2, Members: 2, Notices: 1, Banners: 1})
	scan := &leakScan{t: t, secret: pgSecret}
	m := []string{"-f", manifest}
	for _, tc := range []struct {
		name  string
		env   []string
		state []string // --state, or nothing when the environment names it
		runs  [][]string
		codes []int
	}{
		{"url-flag", nil, []string{"--state", withPassword}, [][]string{
			append([]string{"plan"}, m...),
			append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...),
			{"state", "list"},
			{"state", "show", "pg-yzj-000"},
			append([]string{"plan", "--refresh=false", "--format", "json"}, m...),
			append([]string{"plan", "--out", filepath.Join(dir, "plan.json")}, m...),
		}, []int{0}},
		{"url-env", []string{"GROUPSYNC_STATE=" + withPassword}, nil, [][]string{
			append([]string{"run", "--once", "--log-format", "json"}, m...),
			{"state", "copy", withPassword, filepath.Join(dir, "copy.db")},
			{"state", "copy", filepath.Join(dir, "copy.db"), withPassword},
		}, []int{0, 1}},
		{"pgpassword", []string{"PGPASSWORD=" + pgSecret}, []string{"--state", bare}, [][]string{
			append([]string{"plan"}, m...),
			{"state", "list"},
		}, []int{0}},
		{"wrong", nil, []string{"--state", wrong}, [][]string{
			append([]string{"plan"}, m...),
			append([]string{"apply", "--auto-approve"}, m...),
			{"state", "list"},
		}, []int{1}},
		{"wrong-env", []string{"PGPASSWORD=" + pgSecret + "-wrong"}, []string{"--state", bare}, [][]string{
			append([]string{"plan"}, m...),
		}, []int{1}},
		{"conninfo-flag", nil, []string{"--state", conninfo}, [][]string{
			append([]string{"plan"}, m...),
			append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...),
			{"state", "list"},
			append([]string{"plan", "--out", filepath.Join(dir, "plan-ci.json")}, m...),
			{"state", "copy", conninfo, filepath.Join(dir, "copy-ci.db")},
		}, []int{0}},
		{"conninfo-env", []string{"GROUPSYNC_STATE=" + conninfo}, nil, [][]string{
			append([]string{"run", "--once", "--log-format", "json"}, m...),
		}, []int{0}},
		{"conninfo-down", nil, []string{"--state", conninfoDown}, [][]string{
			append([]string{"plan"}, m...),
			{"state", "copy", conninfoDown, filepath.Join(dir, "none-ci.db")},
		}, []int{1}},
		{"down", nil, []string{"--state", down}, [][]string{
			append([]string{"plan"}, m...),
			append([]string{"run", "--once"}, m...),
			{"state", "copy", down, filepath.Join(dir, "none.db")},
		}, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t, dir, append([]string{tokenEnv + "=pg-token"}, tc.env...)...)
			for _, args := range tc.runs {
				if args[0] != "state" || args[1] != "copy" {
					args = append(args, tc.state...)
				}
				r := c.runOK(t, args, tc.codes...)
				scan.t = t
				scan.result(r)
				if tc.codes[0] == 1 && !strings.Contains(r.stderr, "PostgreSQL") {
					t.Errorf("groupsync %s: the error does not say PostgreSQL:\n%s", args[0], r)
				}
			}
		})
	}
	scan.t = t
	scan.files(dir, manifest)
	if scan.n < 10 {
		t.Errorf("only %d outputs and files scanned", scan.n)
	}
}

// pgRole makes a login role with pgSecret as its password, dropped at the
// end of the test (after the schemas made later, which it may own objects in).
func pgRole(t *testing.T, base string) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	role := "leak_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE ROLE "+role+" LOGIN PASSWORD '"+strings.ReplaceAll(pgSecret, "'", "''")+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP ROLE " + role); err != nil {
			t.Errorf("drop the test role: %v", err)
		}
	})
	return role
}

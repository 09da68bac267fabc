// Package pgtest gives tests a fresh PostgreSQL state location on the server
// that `make test` starts (scripts/with-postgres.sh): a schema of its own per
// test, dropped at the end. Without a server the PostgreSQL tests are
// skipped, saying so, unless RequiredEnv is set (make test sets it), when
// they fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Environment variables that point the tests at a server.
const (
	// URLEnv is the URL of a database the tests may make schemas in.
	URLEnv = "GROUPSYNC_TEST_POSTGRES"
	// RequiredEnv, when set, makes a missing URLEnv a failure, not a skip.
	RequiredEnv = "GROUPSYNC_TEST_POSTGRES_REQUIRED"
)

// BaseURL returns URLEnv's value, skipping the test (or failing it, with
// RequiredEnv) when it is not set.
func BaseURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(URLEnv)
	if base == "" {
		if os.Getenv(RequiredEnv) != "" {
			t.Fatalf("%s is set but %s is not: no PostgreSQL server to test against", RequiredEnv, URLEnv)
		}
		t.Skipf("PostgreSQL suite skipped: %s is not set (make test starts a throwaway server and sets it)", URLEnv)
	}
	return base
}

// Location makes a new, empty schema and returns a state location (URL)
// whose search path is that schema; the schema is dropped at the end of the
// test.
func Location(t testing.TB) string {
	t.Helper()
	base := BaseURL(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("make a test schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop the test schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Conninfo returns loc, a URL as Location returns, as the libpq key=value
// connection string that names the same database and schema, every value
// quoted.
func Conninfo(t testing.TB, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	quote := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	words := []string{"host=" + quote(u.Hostname())}
	if p := u.Port(); p != "" {
		words = append(words, "port="+quote(p))
	}
	if u.User != nil {
		words = append(words, "user="+quote(u.User.Username()))
		if p, ok := u.User.Password(); ok {
			words = append(words, "password="+quote(p))
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		words = append(words, "dbname="+quote(db))
	}
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		words = append(words, k+"="+quote(q.Get(k)))
	}
	return strings.Join(words, " ")
}

package state

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/state/pgtest"
)

func TestRedactLocation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"groupsync.db", "groupsync.db"},
		{"postgres://u:s3cr%2Ft@db:5432/gs?sslmode=require", "postgres://u:REDACTED@db:5432/gs?sslmode=require"},
		{"postgresql://u@db/gs", "postgresql://u@db/gs"},
		{"postgres://db/gs?password=s3cret&sslmode=disable", "postgres://db/gs?password=REDACTED&sslmode=disable"},
		{"POSTGRES://u:s3cret@db/gs", "postgres://u:REDACTED@db/gs"},
		{"postgres://u:s3cret@[bad", "postgres://…"},
	}
	for _, tt := range tests {
		if got := RedactLocation(tt.in); got != tt.want {
			t.Errorf("RedactLocation(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(RedactLocation(tt.in), "s3cret") {
			t.Errorf("RedactLocation(%q) keeps the password", tt.in)
		}
	}
	if got := LocationSecrets("postgres://u:a%2Fb@db/gs?password=c"); len(got) != 2 || got[0] != "a/b" || got[1] != "c" {
		t.Errorf("LocationSecrets = %q", got)
	}
}

// TestPostgresPasswordSources: the password may come from the URL,
// PGPASSWORD or a password file, and a wrong one is refused without being
// shown.
func TestPostgresPasswordSources(t *testing.T) {
	base := pgtest.BaseURL(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	password, ok := u.User.Password()
	if !ok {
		t.Skip("the test server's URL has no password")
	}
	u.User = url.User(u.User.Username())
	bare := u.String()
	t.Setenv("PGPASSWORD", "")
	os.Unsetenv("PGPASSWORD")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))

	open := func(t *testing.T) error {
		t.Helper()
		s, err := Open(bare)
		if err == nil {
			s.Close()
		}
		return err
	}
	t.Run("PGPASSWORD", func(t *testing.T) {
		t.Setenv("PGPASSWORD", password)
		if err := open(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("password file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pgpass")
		if err := os.WriteFile(file, []byte("*:*:*:"+u.User.Username()+":"+password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PGPASSFILE", file)
		if err := open(t); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		const wrong = "pw-SECRET-8f3a9c"
		t.Setenv("PGPASSWORD", wrong)
		err := open(t)
		if err == nil || !strings.Contains(err.Error(), "cannot connect to PostgreSQL") {
			t.Fatalf("Open with a wrong password = %v", err)
		}
		if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), password) {
			t.Errorf("the error shows a password: %v", err)
		}
	})
}

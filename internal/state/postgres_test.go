package state

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"groupsync/internal/state/pgtest"
	"groupsync/internal/vendors"
)

func TestRedactLocation(t *testing.T) {
	tests := []struct{ in, want string }{
		{"groupsync.db", "groupsync.db"},
		{"postgres://u:s3cr%2Ft@db:5432/gs?sslmode=require", "postgres://u:REDACTED@db:5432/gs?sslmode=require"},
		{"postgresql://u@db/gs", "postgresql://u@db/gs"},
		{"postgres://db/gs?password=s3cret&sslmode=disable", "postgres://db/gs?password=REDACTED&sslmode=disable"},
		{"POSTGRES://u:s3cret@db/gs", "postgres://u:REDACTED@db/gs"},
		{"postgres://u:s3cret@[bad", "postgres://…"},
		// libpq key=value connection strings
		{"host=db dbname=gs user=u password=s3cret", "host=db dbname=gs user=u password=REDACTED"},
		{"  host = db password = 's3cret with \\'quotes\\' and spaces'  sslmode=require", "  host = db password = REDACTED  sslmode=require"},
		{"host=db password=s3cr\\ et dbname=gs", "host=db password=REDACTED dbname=gs"},
		{"host=db sslpassword=s3cret", "host=db sslpassword=REDACTED"},
		{"host=db password='s3cret", "host=…"},
		{"dbname=gs password", "dbname=…"},
		{"host=db dbname=gs", "host=db dbname=gs"},
		{"search_path=gs database=gs password=s3cret", "search_path=gs database=gs password=REDACTED"},
		{"host=db oauth_client_secret='s3cret'", "host=db oauth_client_secret=REDACTED"},
		{"postgres://db/gs?sslpassword=s3cret", "postgres://db/gs?sslpassword=REDACTED"},
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
	if got := LocationSecrets(`host=db password='a\'b c' user=u`); len(got) != 1 || got[0] != "a'b c" {
		t.Errorf("LocationSecrets = %q", got)
	}
}

// TestIsPostgres: URLs and libpq connection strings name PostgreSQL; any
// other location is a file, even one with an equals sign in its name.
func TestIsPostgres(t *testing.T) {
	for loc, want := range map[string]bool{
		"groupsync.db":            false,
		"/var/lib/gs/state.db":    false,
		"./host=x":                false,
		"state=prod.db":           false,
		"host":                    false,
		"postgres://db/gs":        true,
		"PostgreSQL://db/gs":      true,
		"host=db dbname=gs":       true,
		" dbname = gs":            true,
		"service=groupsync":       true,
		"sslmode=require host=db": true,
		"hostx=db":                false,
		"host db":                 false,
		"user=u;password=p":       true,
		"database=gs host=db":     true,
		"search_path=gs host=db":  true,
		"a=b c=d":                 false,
		"host=db password='p":     true,
		"x=1 host='p":             false,
	} {
		if got := IsPostgres(loc); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", loc, got, want)
		}
	}
}

// FuzzConninfo: every connection string pgx would connect with a password
// is PostgreSQL to groupsync, its secrets are the ones pgx reads, and what
// RedactLocation shows of it holds none of them.
func FuzzConninfo(f *testing.F) {
	for _, s := range []string{
		"host=db password=s3cret", `host=db password='a\'b c'`, `password=x\`, "password = 'x' password=y",
		"host=db password=", `host='db' sslpassword=\'q`, "host=db\tpassword=p\nuser=u",
		"search_path=gs password=s3cret", "x=1 y=2", "password = ''00=0", "password='",
	} {
		f.Add(s)
	}
	f.Setenv("PGPASSWORD", "")
	f.Setenv("PGPASSFILE", filepath.Join(f.TempDir(), "none"))
	f.Setenv("PGSERVICEFILE", filepath.Join(f.TempDir(), "none"))
	f.Fuzz(func(t *testing.T, s string) {
		if isPostgresURL(s) {
			return
		}
		shown := RedactLocation(s)
		if isConninfo(s) {
			if _, ok := parseConninfo(s); !ok {
				// Shown by its first keyword alone.
				if k, _, _ := strings.Cut(strings.TrimSpace(s), "="); shown != strings.TrimSpace(k)+"=…" {
					t.Errorf("RedactLocation(%q) = %q, want its first keyword alone", s, shown)
				}
			} else if pairs, ok := parseConninfo(shown); !ok {
				t.Errorf("RedactLocation(%q) = %q, which does not parse", s, shown)
			} else {
				for _, p := range pairs {
					if isSecretKeyword(p.key) && p.value != vendors.Redacted {
						t.Errorf("RedactLocation(%q) = %q shows a secret", s, shown)
					}
				}
			}
		}
		cfg, err := pgx.ParseConfig(s)
		if err != nil || cfg.Password == "" {
			return
		}
		if !IsPostgres(s) {
			t.Fatalf("pgx connects with %q and a password, IsPostgres says it is a file", s)
		}
		if !slices.Contains(LocationSecrets(s), cfg.Password) {
			t.Errorf("LocationSecrets(%q) = %q, pgx reads the password %q", s, LocationSecrets(s), cfg.Password)
		}
		if strings.Count(s, cfg.Password) == 1 && strings.Contains(strings.ReplaceAll(shown, vendors.Redacted, "\x00"), cfg.Password) {
			t.Errorf("RedactLocation(%q) = %q shows the password %q", s, shown, cfg.Password)
		}
	})
}

// TestOpenConninfo opens a PostgreSQL state named by a connection string:
// the same state as its URL, named without the password.
func TestOpenConninfo(t *testing.T) {
	loc := pgtest.Location(t)
	ci := pgtest.Conninfo(t, loc)
	s, err := Open(ci)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Bind(ctx, Binding{Key: "k1", Provider: "p", GroupID: "16", Origin: OriginCreated}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(loc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if b, ok, err := s.Binding(ctx, "k1"); err != nil || !ok || b.GroupID != "16" {
		t.Errorf("the URL's state has binding %+v, %v, %v; want the one saved through the connection string", b, ok, err)
	}
	for _, p := range LocationSecrets(ci) {
		if strings.Contains(RedactLocation(ci), p) {
			t.Errorf("RedactLocation(%q) shows the password", ci)
		}
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

package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"groupsync/internal/vendors"
)

// IsPostgres reports whether a state location names a PostgreSQL database
// (a postgres:// or postgresql:// URL, or a libpq key=value connection
// string) rather than a file.
func IsPostgres(loc string) bool { return isPostgresURL(loc) || isConninfo(loc) }

func isPostgresURL(loc string) bool {
	l := strings.ToLower(loc)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// RedactLocation returns loc fit to print: a PostgreSQL URL with its
// password (in the user part or a password= parameter, and sslpassword=
// and oauth_client_secret=) replaced by REDACTED, a connection string with
// the values of those keywords replaced; a file path as it is. A URL that
// does not parse is shown only by its scheme, a connection string only by
// its first keyword: either may hold a password where a parser would not
// look.
func RedactLocation(loc string) string {
	if !isPostgresURL(loc) {
		if isConninfo(loc) {
			return redactConninfo(loc, vendors.Redacted)
		}
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil {
		return loc[:strings.Index(loc, "://")+3] + "…"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), vendors.Redacted)
		}
	}
	q := u.Query()
	for _, k := range secretKeywords {
		if q.Has(k) {
			q.Set(k, vendors.Redacted)
			u.RawQuery = q.Encode()
		}
	}
	return strings.Replace(u.String(), url.QueryEscape(vendors.Redacted), vendors.Redacted, -1)
}

// LocationSecrets returns the secrets a state location holds (a PostgreSQL
// password given in the URL or connection string), for a redactor of the
// command's output.
func LocationSecrets(loc string) []string {
	if !isPostgresURL(loc) {
		if isConninfo(loc) {
			return conninfoSecrets(loc)
		}
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	for _, k := range secretKeywords {
		if p := u.Query().Get(k); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// pgConnectTimeout bounds connecting to a server that does not answer,
// unless the URL sets connect_timeout.
const pgConnectTimeout = 15 * time.Second

// openPostgres opens the state in the PostgreSQL database loc names and
// migrates its schema. The password comes from the URL, PGPASSWORD or the
// password file (~/.pgpass or PGPASSFILE), as libpq takes it; it never
// appears in an error.
func openPostgres(loc string, write bool) (*Store, error) {
	shown := RedactLocation(loc)
	var scrub vendors.Redactor
	scrub.Add(LocationSecrets(loc)...)
	fail := func(what string, err error) error {
		return &locationError{msg: fmt.Sprintf("%s state %s: %s", what, shown, scrub.Redact(err.Error())), err: err}
	}
	cfg, err := pgx.ParseConfig(loc)
	if err != nil {
		return nil, fail("open", errors.New("bad PostgreSQL URL or connection string"))
	}
	if cfg.Password != "" {
		scrub.Add(cfg.Password) // from PGPASSWORD or the password file
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// A handful of connections: the journal's commits are batched, the
	// lock holds one, and reads stream over one.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s := &Store{db: db, path: shown, dialect: postgresDialect, closed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 2*busyTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fail("open", fmt.Errorf("cannot connect to PostgreSQL: %w\nhint: check that the server is up and the host, port, user and database of --state;"+
			" the password comes from --state, PGPASSWORD or ~/.pgpass (PGPASSFILE)", err))
	}
	if err := schemaStep(write)(ctx, db, postgresDialect, shown); err != nil {
		db.Close()
		return nil, &locationError{msg: scrub.Redact(err.Error()), err: err}
	}
	return s, nil
}

// locationError is an error of opening a PostgreSQL state whose text is
// scrubbed of the password; errors.Is and As still see the cause.
type locationError struct {
	msg string
	err error
}

func (e *locationError) Error() string { return e.msg }
func (e *locationError) Unwrap() error { return e.err }

// pgLockSQL takes the session advisory lock of the state: one per schema,
// so that two states kept in one database (search_path) lock apart.
const (
	pgTryLockSQL = "SELECT pg_try_advisory_lock(1735291763, hashtext(current_schema()))"
	pgUnlockSQL  = "SELECT pg_advisory_unlock(1735291763, hashtext(current_schema()))"
)

// pgSession is the dedicated connection that holds the advisory lock: the
// server releases the lock when the session ends, so a killed process never
// leaves the state locked.
type pgSession struct{ conn *sql.Conn }

// tryAdvisoryLock takes the advisory lock on a connection of its own, or
// returns nil when another session holds it.
func (s *Store) tryAdvisoryLock(ctx context.Context) (*pgSession, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, pgTryLockSQL).Scan(&ok); err != nil {
		discard(conn)
		return nil, err
	}
	if !ok {
		conn.Close()
		return nil, nil
	}
	return &pgSession{conn: conn}, nil
}

// release releases the advisory lock and hands the connection back; a
// connection whose unlock failed is closed, which releases it too.
func (p *pgSession) release() error {
	var ok bool
	err := p.conn.QueryRowContext(context.Background(), pgUnlockSQL).Scan(&ok)
	if err != nil || !ok {
		discard(p.conn)
		return err
	}
	return p.conn.Close()
}

// discard closes conn's session rather than returning it to the pool.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

package vendors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// DefaultCommandTimeout bounds one run of a tokenCommand when the manifest
// sets no tokenCommandTimeout.
const DefaultCommandTimeout = 30 * time.Second

// renewMargin is how long before its expiry a token is renewed, at most: a
// tenth of the token's lifetime when that is shorter, so that a short-lived
// token is not renewed on every call.
const renewMargin = 5 * time.Minute

// TokenSource hands out a provider's access token: a fixed one (from an
// environment variable), the stdout of a command, or one fetched from the
// vendor's token endpoint with the app's credentials (AuthToken).
//
// A command or an endpoint is asked once per process, when the token is
// first needed; concurrent callers wait for that one fetch and share its
// token. A fetched token is renewed before it expires, and every source but
// a fixed one fetches again once per token the vendor refuses (Refresh). A
// failed fetch is kept and handed to every caller until Reset, so that a
// provider's groups fail with one error, not one fetch and one error each.
// Every secret and token the source has known is redacted by Redact.
type TokenSource struct {
	provider string
	command  []string
	// Run runs the token command, whose timeout is already in ctx; tests
	// replace it. It defaults to running argv in its own process group,
	// killed as a group when ctx ends.
	Run func(ctx context.Context, argv []string) ([]byte, error)
	// CommandTimeout bounds one run of the command; 0 means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration

	auth     *Auth
	endpoint string
	creds    Credentials
	// HTTP is the token endpoint's client; nil means NewHTTPClient(30s).
	HTTP *http.Client
	// Now is the clock expiry is judged by; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	current string
	grant   Grant
	renewAt time.Time     // when to renew current; zero: never by age
	expires time.Time     // when current expires; zero: unknown
	failed  error         // the last fetch's failure, until Reset
	flight  chan struct{} // non-nil while a fetch runs; closed when it ends
	fetches int
	seen    []string
}

// StaticToken returns a source that always hands out tok.
func StaticToken(provider, tok string) *TokenSource {
	return &TokenSource{provider: provider, current: tok, seen: nonEmpty(tok)}
}

// CommandToken returns a source whose token is the stdout of argv: one
// non-empty line, surrounding space trimmed.
func CommandToken(provider string, argv []string) *TokenSource {
	return &TokenSource{provider: provider, command: argv, Run: runCommand}
}

// AuthToken returns a source that fetches tokens from the vendor's token
// endpoint (derived from endpoint by a.Fetch) with creds. The secret fields'
// values are redacted from the start.
func AuthToken(provider string, a Auth, endpoint string, creds Credentials) *TokenSource {
	t := &TokenSource{provider: provider, auth: &a, endpoint: endpoint, creds: creds}
	for _, name := range a.Secrets() {
		t.rememberLocked(creds[name])
	}
	return t
}

// Fetches returns how many times the source ran its command or called the
// token endpoint.
func (t *TokenSource) Fetches() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fetches
}

// Reset forgets a failed fetch, so that the next caller tries again: a
// scheduled run calls it at its start, so that one run's outage does not
// outlive it. A token that works is kept.
func (t *TokenSource) Reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = nil
}

func (t *TokenSource) fetching() bool { return len(t.command) > 0 || t.auth != nil }

func (t *TokenSource) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Token returns the current token: fetched the first time, renewed when it
// is about to expire, or the fetch's kept failure (a *TokenError).
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	if t == nil {
		return "", errors.New("no access token configured")
	}
	for {
		t.mu.Lock()
		switch {
		case !t.fetching():
			cur := t.current
			t.mu.Unlock()
			return cur, nil
		case t.failed != nil:
			err := t.failed
			t.mu.Unlock()
			return "", err
		case t.current != "" && (t.renewAt.IsZero() || t.now().Before(t.renewAt)):
			cur := t.current
			t.mu.Unlock()
			return cur, nil
		case t.flight != nil && t.current != "" && t.now().Before(t.expires):
			// Being renewed, and still alive: no need to wait.
			cur := t.current
			t.mu.Unlock()
			return cur, nil
		case t.flight != nil:
			if err := t.waitLocked(ctx); err != nil {
				return "", err
			}
			continue
		}
		// Renew by age (the current token still lives) or fetch a first one.
		return t.fetchLocked(ctx, t.current != "")
	}
}

// Refresh replaces the token stale after the vendor refused it. It reports
// false when the source cannot refresh (a fixed token). When another caller
// already replaced stale, the newer token is returned without a fetch.
func (t *TokenSource) Refresh(ctx context.Context, stale string) (string, bool, error) {
	if t == nil || !t.fetching() {
		return "", false, nil
	}
	for {
		t.mu.Lock()
		switch {
		case t.current != stale && t.current != "":
			cur := t.current
			t.mu.Unlock()
			return cur, true, nil
		case t.failed != nil:
			err := t.failed
			t.mu.Unlock()
			return "", true, err
		case t.flight != nil:
			if err := t.waitLocked(ctx); err != nil {
				return "", true, err
			}
			continue
		}
		tok, err := t.fetchLocked(ctx, false)
		return tok, true, err
	}
}

// waitLocked waits, with t.mu released, for the fetch in flight to end.
func (t *TokenSource) waitLocked(ctx context.Context) error {
	ch := t.flight
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("provider %s: waiting for an access token: %w", t.provider, ctx.Err())
	}
}

// fetchLocked runs one fetch with t.mu released, other callers waiting on
// t.flight, and returns with t.mu released. renew is true when the current
// token still lives and is only renewed for its age: if that fails, the
// current token is kept until it expires.
func (t *TokenSource) fetchLocked(ctx context.Context, renew bool) (string, error) {
	ch := make(chan struct{})
	t.flight = ch
	t.fetches++
	var prev *Grant
	if renew && t.grant.Token != "" {
		g := t.grant
		prev = &g
	}
	old, oldExpires := t.current, t.expires
	t.mu.Unlock()

	started := t.now()
	var g Grant
	var err error
	if t.auth != nil {
		g, err = t.fetchAuth(ctx, prev, started)
	} else {
		g.Token, err = t.runCommand(ctx)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	defer close(ch)
	t.flight = nil
	if err != nil {
		err = t.tokenErrorLocked(err)
		if renew && t.now().Before(oldExpires) {
			// The token in hand still works: use it to its end.
			t.renewAt = oldExpires
			return old, nil
		}
		if ctx.Err() == nil {
			// Kept for every later caller, unless the caller gave up.
			t.failed = err
		}
		return "", err
	}
	t.rememberLocked(g.Token)
	t.rememberLocked(g.Refresh)
	t.current, t.grant = g.Token, g
	t.renewAt, t.expires = time.Time{}, time.Time{}
	if g.Lifetime > 0 {
		t.expires = started.Add(g.Lifetime)
		t.renewAt = t.expires.Add(-min(renewMargin, g.Lifetime/10))
		if renew && g.Token == old && !oldExpires.IsZero() {
			// Asked again early, the vendor gave the same token (Yunzhijia
			// does): it expires when it did, and only then can a new one be had.
			if oldExpires.Before(t.expires) {
				t.expires = oldExpires
			}
			t.renewAt = t.expires
		}
	}
	return g.Token, nil
}

func (t *TokenSource) fetchAuth(ctx context.Context, prev *Grant, now time.Time) (Grant, error) {
	hc := t.HTTP
	if hc == nil {
		hc = NewHTTPClient(30 * time.Second)
	}
	g, err := t.auth.Fetch(ctx, FetchRequest{HTTP: hc, Endpoint: t.endpoint, Credentials: t.creds, Now: now, Previous: prev})
	if err == nil && g.Token == "" {
		err = fmt.Errorf("%w: the token endpoint answered no token", ErrVendor)
	}
	return g, err
}

// runCommand runs the token command within its timeout and returns its one
// line of output.
func (t *TokenSource) runCommand(ctx context.Context) (string, error) {
	timeout := t.CommandTimeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := t.command[0]
	out, err := t.Run(cctx, t.command)
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("tokenCommand %s: %w", name, ctx.Err())
	case cctx.Err() != nil:
		return "", fmt.Errorf("tokenCommand %s did not finish within %s (tokenCommandTimeout): it was killed with its child processes", name, timeout)
	case err != nil:
		// The command's own output may hold a token: say only that it failed.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("tokenCommand %s exited with status %d", name, ee.ExitCode())
		}
		return "", fmt.Errorf("tokenCommand %s: %w", name, err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	switch len(lines) {
	case 0:
		return "", fmt.Errorf("tokenCommand %s printed no token", name)
	case 1:
		return lines[0], nil
	}
	// Every line may be a secret: remember them all before saying no.
	t.mu.Lock()
	for _, l := range lines {
		t.rememberLocked(l)
	}
	t.mu.Unlock()
	return "", fmt.Errorf("tokenCommand %s printed %d non-empty lines: it must print the token alone, on one line", name, len(lines))
}

// tokenErrorLocked makes the one error a failed fetch is reported as: the
// provider's name and the cause, redacted, keeping the cause's kind.
func (t *TokenSource) tokenErrorLocked(err error) error {
	var kind error
	for _, k := range []error{ErrBadCredentials, ErrClockSkew, ErrTransient, ErrVendor, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, k) {
			kind = k
			break
		}
	}
	return &TokenError{Provider: t.provider, Err: causeError{msg: t.redactLocked(err.Error()), kind: kind}}
}

// causeError is a cause's redacted text that still answers errors.Is for
// its kind.
type causeError struct {
	msg  string
	kind error
}

func (c causeError) Error() string { return c.msg }
func (c causeError) Unwrap() error { return c.kind }

// rememberLocked adds a secret or a token to those Redact removes.
func (t *TokenSource) rememberLocked(s string) {
	if s != "" {
		t.seen = append(t.seen, s)
	}
}

// Redact replaces every token this source has handed out, in any encoding
// (see Redactor), with "REDACTED".
func (t *TokenSource) Redact(s string) string {
	if t == nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.redactLocked(s)
}

func (t *TokenSource) redactLocked(s string) string {
	// Every encoding: see Redactor.
	return redactSecrets(s, t.seen)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

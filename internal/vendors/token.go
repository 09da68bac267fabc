package vendors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// TokenSource hands out a provider's access token: a fixed one (from an
// environment variable) or the stdout of a command, which is run at first use
// and again, once per stale token, when the vendor refuses it. Every token it
// has handed out is redacted by Redact.
type TokenSource struct {
	provider string
	command  []string
	// Run runs the token command; tests replace it. It defaults to exec.
	Run func(ctx context.Context, argv []string) ([]byte, error)

	mu      sync.Mutex
	current string
	seen    []string
}

// StaticToken returns a source that always hands out tok.
func StaticToken(provider, tok string) *TokenSource {
	return &TokenSource{provider: provider, current: tok, seen: nonEmpty(tok)}
}

// CommandToken returns a source whose token is the trimmed stdout of argv.
func CommandToken(provider string, argv []string) *TokenSource {
	return &TokenSource{provider: provider, command: argv, Run: runCommand}
}

// Token returns the current token, running the command the first time.
func (t *TokenSource) Token(ctx context.Context) (string, error) {
	if t == nil {
		return "", errors.New("no access token configured")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current == "" && len(t.command) > 0 {
		if err := t.fetchLocked(ctx); err != nil {
			return "", err
		}
	}
	return t.current, nil
}

// Refresh replaces the token stale after the vendor refused it. It reports
// false when the source cannot refresh (a fixed token). When another caller
// already refreshed stale, the newer token is returned without running the
// command again.
func (t *TokenSource) Refresh(ctx context.Context, stale string) (string, bool, error) {
	if t == nil || len(t.command) == 0 {
		return "", false, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.current != stale && t.current != "" {
		return t.current, true, nil
	}
	if err := t.fetchLocked(ctx); err != nil {
		return "", true, err
	}
	return t.current, true, nil
}

func (t *TokenSource) fetchLocked(ctx context.Context) error {
	out, err := t.Run(ctx, t.command)
	if err != nil {
		// The command's own output may hold a token: say only that it failed.
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("provider %s: tokenCommand %s exited with status %d", t.provider, t.command[0], ee.ExitCode())
		}
		return fmt.Errorf("provider %s: tokenCommand %s: %s", t.provider, t.command[0], t.redactLocked(err.Error()))
	}
	tok := strings.TrimSpace(string(out))
	if tok == "" {
		return fmt.Errorf("provider %s: tokenCommand %s printed no token", t.provider, t.command[0])
	}
	t.current = tok
	t.seen = append(t.seen, tok)
	return nil
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

func runCommand(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	return stdout.Bytes(), err
}

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"groupsync/internal/reconcile"
	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

// callTimeout bounds one vendor request, answer included.
const callTimeout = 30 * time.Second

// connections are the vendor clients of one command, by provider name.
type connections struct {
	clients map[string]vendors.Client
	tokens  map[string]*vendors.TokenSource
	sandbox *sandbox     // nil unless --sandbox
	http    *http.Client // the clients' shared HTTP client
}

// connect builds a client for every provider. Tokens are resolved here (an
// unset variable is an error naming the provider); in the sandbox no token
// is needed and every provider points at the simulators. A provider's token
// source is kept for the process (see tokenSource), so that a scheduled
// run's later runs reuse its token.
func (a *app) connect(m *spec.Manifest, c *commonFlags, log *slog.Logger, observe func(vendor, call, outcome string, d time.Duration)) (*connections, error) {
	conns := &connections{clients: map[string]vendors.Client{}, tokens: map[string]*vendors.TokenSource{}}
	if c.sandbox {
		sb, err := openSandbox(c.state, m)
		if err != nil {
			return nil, err
		}
		conns.sandbox = sb
	}
	httpc := vendors.NewHTTPClient(callTimeout)
	conns.http = httpc
	for name, p := range m.Providers {
		d, ok := vendors.Lookup(string(p.Vendor))
		if !ok {
			conns.close()
			return nil, fmt.Errorf("provider %s: unknown vendor %q", name, p.Vendor)
		}
		var tokens *vendors.TokenSource
		base := p.Endpoint
		switch {
		case conns.sandbox != nil && p.Auth != nil:
			// The sandbox's own credentials, fetched from its simulators'
			// token endpoints as from a vendor's, for this command only.
			base = conns.sandbox.baseURL(p.Vendor)
			tokens = vendors.AuthToken(name, *d.Auth, base, conns.sandbox.credentials(p))
			tokens.HTTP = httpc
		case conns.sandbox != nil:
			tokens = vendors.StaticToken(name, sandboxToken)
			base = conns.sandbox.baseURL(p.Vendor)
		case p.Auth != nil:
			creds, err := p.ResolveAuth(a.getenv)
			if err != nil {
				conns.close()
				return nil, tokenError(p, err)
			}
			tokens = a.tokenSource(p, func() *vendors.TokenSource {
				ts := vendors.AuthToken(name, *d.Auth, p.Endpoint, creds)
				ts.HTTP = httpc
				ts.Now = a.clock
				return ts
			})
		case len(p.TokenCommand) > 0:
			tokens = a.tokenSource(p, func() *vendors.TokenSource {
				ts := vendors.CommandToken(name, p.TokenCommand)
				ts.CommandTimeout = p.TokenCommandTimeout
				return ts
			})
		default:
			tok, err := p.ResolveToken(a.getenv)
			if err != nil {
				conns.close()
				return nil, tokenError(p, err)
			}
			tokens = vendors.StaticToken(name, tok)
		}
		conns.tokens[name] = tokens
		t := &vendors.Transport{
			Vendor:  string(p.Vendor),
			BaseURL: base,
			HTTP:    httpc,
			Token:   tokens,
			Logger:  log,
		}
		switch {
		case conns.sandbox != nil:
			// The simulators have no limit: throttling them would only slow a trial.
		case p.RateLimit > 0:
			t.Limiter = rate.NewLimiter(rate.Limit(p.RateLimit), 1)
		case d.PathRateLimit > 0:
			// The vendor's published limit (a vendor that publishes none has
			// none by default, and its over-the-limit answers are retried
			// with backoff).
			t.PathLimit = rate.Limit(d.PathRateLimit)
		}
		if observe != nil {
			vendor := string(p.Vendor)
			t.Observe = func(call, outcome string, d time.Duration) { observe(vendor, call, outcome, d) }
		}
		conns.clients[name] = d.New(t)
	}
	return conns, nil
}

// tokenCache keeps the token sources of the process, so that a token (or
// a tokenCommand's failure) is had once per provider per process, not once
// per run or per group. A source is keyed by everything its token depends
// on, so that a manifest changed under `run` gets a new one.
type tokenCache struct {
	mu      sync.Mutex
	sources map[string]*vendors.TokenSource
}

// tokenSource returns the process's source for p, made by mk the first
// time. A failure kept from an earlier run is forgotten: each run (each
// connect) tries once again.
func (a *app) tokenSource(p *spec.Provider, mk func() *vendors.TokenSource) *vendors.TokenSource {
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%s\x00%v", p.Name, p.Vendor, p.Endpoint, p.TokenCommand, p.TokenCommandTimeout, p.Auth)
	a.tokens.mu.Lock()
	defer a.tokens.mu.Unlock()
	if a.tokens.sources == nil {
		a.tokens.sources = map[string]*vendors.TokenSource{}
	}
	ts, ok := a.tokens.sources[key]
	if !ok {
		ts = mk()
		a.tokens.sources[key] = ts
	}
	ts.Reset()
	return ts
}

// usedProviders are the providers whose groups a command works on: the
// saved plan's, when it applies one (its manifest may hold only heads),
// else the manifest's.
func usedProviders(m *spec.Manifest, saved *reconcile.Plan) map[string]bool {
	used := map[string]bool{}
	if saved != nil {
		for i := range saved.Groups {
			used[saved.Groups[i].Provider] = true
		}
		return used
	}
	for _, g := range m.Groups {
		used[g.Provider] = true
	}
	return used
}

// authorize gets the access token of every provider in used (see
// usedProviders), in parallel, before anything is planned: a provider whose token cannot be
// had is returned with its one error (a *vendors.TokenError), so that its
// groups are blocked with a reference to it instead of each failing alike.
// Fixed tokens need no call.
func (c *connections) authorize(ctx context.Context, used map[string]bool) map[string]error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		down map[string]error
	)
	for name := range used {
		ts := c.tokens[name]
		if ts == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ts.Token(ctx); err != nil && ctx.Err() == nil {
				mu.Lock()
				defer mu.Unlock()
				if down == nil {
					down = map[string]error{}
				}
				down[name] = err
			}
		}()
	}
	wg.Wait()
	return down
}

// checkTokens resolves every provider's token and auth variables before
// the command opens (and perhaps creates) the state file, so that a missing
// variable is reported, in provider order, with nothing written. The
// sandbox needs none; a tokenCommand runs only when a call needs it.
func (a *app) checkTokens(m *spec.Manifest, c *commonFlags) error {
	if c.sandbox {
		return nil
	}
	names := make([]string, 0, len(m.Providers))
	for name := range m.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := m.Providers[name]
		var err error
		switch {
		case len(p.TokenCommand) > 0:
			continue
		case p.Auth != nil:
			_, err = p.ResolveAuth(a.getenv)
		default:
			_, err = p.ResolveToken(a.getenv)
		}
		if err != nil {
			return tokenError(p, err)
		}
	}
	return nil
}

// tokenError adds what to do to a token variable's error.
func tokenError(p *spec.Provider, err error) error {
	if p.Auth != nil {
		return fmt.Errorf("%w\nhint: export %s with provider %s's app secret, or add --sandbox to try groupsync against simulators", err, strings.Join(p.AuthEnv(), " and "), p.Name)
	}
	return fmt.Errorf("%w\nhint: export %s with provider %s's access token, or add --sandbox to try groupsync against simulators", err, p.TokenEnv, p.Name)
}

// close saves the sandbox world, if any, and closes idle connections, whose
// goroutines would otherwise outlive the command's run.
func (c *connections) close() error {
	if c == nil {
		return nil
	}
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
	if c.sandbox == nil {
		return nil
	}
	return c.sandbox.close()
}

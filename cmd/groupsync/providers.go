package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"golang.org/x/time/rate"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
)

// callTimeout bounds one vendor request, answer included.
const callTimeout = 30 * time.Second

// connections are the vendor clients of one command, by provider name.
type connections struct {
	clients map[string]vendors.Client
	yzj     map[string]*yunzhijia.Client
	tokens  map[string]*vendors.TokenSource
	sandbox *sandbox     // nil unless --sandbox
	http    *http.Client // the clients' shared HTTP client
}

// capabilities returns each vendor's capability set for the planner.
func capabilities() map[spec.Vendor]vendors.Capabilities {
	return map[spec.Vendor]vendors.Capabilities{
		spec.Yunzhijia: (&yunzhijia.Client{}).Capabilities(),
		spec.Lunkr:     (&lunkr.Client{}).Capabilities(),
	}
}

// connect builds a client for every provider. Tokens are resolved here (an
// unset variable is an error naming the provider); in the sandbox no token
// is needed and every provider points at the simulators.
func (a *app) connect(m *spec.Manifest, c *commonFlags, log *slog.Logger, observe func(vendor, call, outcome string, d time.Duration)) (*connections, error) {
	conns := &connections{clients: map[string]vendors.Client{}, yzj: map[string]*yunzhijia.Client{}, tokens: map[string]*vendors.TokenSource{}}
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
		var tokens *vendors.TokenSource
		base := p.Endpoint
		switch {
		case conns.sandbox != nil:
			tokens = vendors.StaticToken(name, sandboxToken)
			base = conns.sandbox.baseURL(p.Vendor)
		case len(p.TokenCommand) > 0:
			tokens = vendors.CommandToken(name, p.TokenCommand)
		default:
			tok, err := p.ResolveToken(a.getenv)
			if err != nil {
				conns.close()
				return nil, tokenError(p, err)
			}
			tokens = vendors.StaticToken(name, tok)
		}
		t := &vendors.Transport{
			Vendor:  string(p.Vendor),
			BaseURL: base,
			HTTP:    httpc,
			Token:   tokens,
			Logger:  log,
		}
		conns.tokens[name] = tokens
		switch {
		case conns.sandbox != nil:
			// The simulators have no limit: throttling them would only slow a trial.
		case p.RateLimit > 0:
			t.Limiter = rate.NewLimiter(rate.Limit(p.RateLimit), 1)
		case p.Vendor == spec.Yunzhijia:
			t.PathLimit = yunzhijia.PathRateLimit
			// Lunkr publishes no limit: none by default, and its code 10008
			// (over the limit) is retried with backoff.
		}
		if observe != nil {
			vendor := string(p.Vendor)
			t.Observe = func(call, outcome string, d time.Duration) { observe(vendor, call, outcome, d) }
		}
		switch p.Vendor {
		case spec.Yunzhijia:
			yc := yunzhijia.New(t)
			conns.clients[name], conns.yzj[name] = yc, yc
		case spec.Lunkr:
			conns.clients[name] = lunkr.New(t)
		default:
			conns.close()
			return nil, fmt.Errorf("provider %s: unknown vendor %q", name, p.Vendor)
		}
	}
	return conns, nil
}

// checkTokens resolves every provider's token variable before the command
// opens (and perhaps creates) the state file, so that a missing variable is
// reported, in provider order, with nothing written. The sandbox needs none;
// a tokenCommand runs only when a call needs it.
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
		if len(p.TokenCommand) > 0 {
			continue
		}
		if _, err := p.ResolveToken(a.getenv); err != nil {
			return tokenError(p, err)
		}
	}
	return nil
}

// tokenError adds what to do to a token variable's error.
func tokenError(p *spec.Provider, err error) error {
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

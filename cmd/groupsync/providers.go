package main

import (
	"fmt"
	"log/slog"
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
	sandbox *sandbox // nil unless --sandbox
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
	conns := &connections{clients: map[string]vendors.Client{}, yzj: map[string]*yunzhijia.Client{}}
	if c.sandbox {
		sb, err := openSandbox(c.state, m)
		if err != nil {
			return nil, err
		}
		conns.sandbox = sb
	}
	httpc := vendors.NewHTTPClient(callTimeout)
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
				return nil, err
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
		if p.RateLimit > 0 {
			t.Limiter = rate.NewLimiter(rate.Limit(p.RateLimit), 1)
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

// close saves the sandbox world, if any.
func (c *connections) close() error {
	if c == nil || c.sandbox == nil {
		return nil
	}
	return c.sandbox.close()
}

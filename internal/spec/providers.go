package spec

import (
	"strings"

	"groupsync/internal/vendors"
)

// addProvider validates one provider entry and adds it to the manifest.
// Its operator is resolved later, once every file's people are known.
func (b *builder) addProvider(r *rawProvider) {
	name := r.name.val
	if first, dup := b.rawProviders[name]; dup {
		b.errs.add(r.name.pos, "duplicate provider %q (first defined at %s)", name, first.name.pos)
		return
	}
	if !keyRE.MatchString(name) {
		b.errs.add(r.name.pos, "provider name %q is not valid: use %s", name, keyForm)
	}
	p := &Provider{Name: name, Pos: r.name.pos}
	b.rawProviders[name] = r
	b.m.Providers[name] = p
	p.Vendor = b.providerVendor(r)
	b.providerEndpoint(p, r)
	b.providerToken(p, r)
	b.providerExtras(p, r)
	b.providerPrune(p, r)
}

func (b *builder) providerVendor(r *rawProvider) Vendor {
	v := Vendor(r.vendor.val)
	switch {
	case !r.vendor.set:
		if _, given := r.fields["vendor"]; !given {
			b.errs.add(r.name.pos, "provider %s: needs a vendor (%s)", r.name.val, vendorNames())
		}
	default:
		if _, ok := lookup(v); ok {
			return v
		}
		b.errs.add(r.vendor.pos, "provider %s: unknown vendor %q (%s)", r.name.val, r.vendor.val, vendorNames())
	}
	return ""
}

func (b *builder) providerEndpoint(p *Provider, r *rawProvider) {
	if !r.endpoint.set {
		if d, ok := lookup(p.Vendor); ok {
			p.Endpoint = d.DefaultEndpoint
		}
		return
	}
	// The URL itself is not repeated: it might carry a password.
	ep, problem := checkEndpoint(r.endpoint.val)
	if problem != "" {
		b.errs.add(r.endpoint.pos, "provider %s: endpoint %s", p.Name, problem)
		return
	}
	p.Endpoint = ep
}

// providerToken enforces exactly one of token (a ${VAR} reference),
// tokenCommand and auth. No message ever repeats the token's value.
func (b *builder) providerToken(p *Provider, r *rawProvider) {
	var given []string
	var last Pos
	for _, f := range []string{"token", "tokenCommand", "auth"} {
		if pos, ok := r.fields[f]; ok {
			given = append(given, f)
			if len(given) > 1 {
				last = later(last, pos)
			} else {
				last = pos
			}
		}
	}
	switch {
	case len(given) > 1:
		b.errs.add(last, "provider %s: set one of token, tokenCommand or auth, not %s", p.Name, strings.Join(given, " and "))
	case len(given) == 0:
		b.errs.add(p.Pos, "provider %s: needs a token (${ENV_VAR}), a tokenCommand or auth (the app's credentials)", p.Name)
	}
	if r.token.set {
		p.TokenEnv = b.tokenEnv(p.Name, r.token)
	}
	for _, s := range r.tokenCommand {
		p.TokenCommand = append(p.TokenCommand, s.val)
	}
	b.commandTimeout(p, r)
	if _, given := r.fields["auth"]; given && r.auth != nil && p.Vendor != "" {
		p.Auth = b.auth(p, r.auth)
	}
}

// tokenEnv returns VAR from a token written ${VAR}, or reports why the
// token is refused.
func (b *builder) tokenEnv(provider string, tok scalar) string {
	if m := envRE.FindStringSubmatch(tok.val); m != nil {
		return m[1]
	}
	switch {
	case tok.val == "":
		b.errs.add(tok.pos, "provider %s: token is empty: use ${ENV_VAR} or tokenCommand", provider)
	case strings.Contains(tok.val, "${"):
		b.errs.add(tok.pos, "provider %s: token must be exactly one ${ENV_VAR} reference, nothing around it", provider)
	default:
		b.errs.add(tok.pos, "provider %s: a literal token is refused: use ${ENV_VAR} or tokenCommand", provider)
	}
	return ""
}

func (b *builder) providerExtras(p *Provider, r *rawProvider) {
	if r.workspace.set {
		switch {
		case p.Vendor != "" && !takesWorkspace(p.Vendor):
			b.errs.add(r.workspace.pos, "provider %s: workspace is a %s eid and %s has none: remove it", p.Name, workspaceVendors(), p.Vendor)
		case r.workspace.val == "":
			b.errs.add(r.workspace.pos, "provider %s: workspace is empty: give the eid or remove it", p.Name)
		default:
			p.Workspace = r.workspace.val
		}
	}
	if r.rateLimitSet {
		if r.rateLimit <= 0 {
			b.errs.add(r.fields["rateLimit"], "provider %s: rateLimit must be greater than 0 (requests per second); remove it for no limit", p.Name)
		} else {
			p.RateLimit = r.rateLimit
		}
	}
}

// resolveOperator resolves the provider's operator against the people of
// every file.
func (b *builder) resolveOperator(p *Provider) {
	r := b.rawProviders[p.Name]
	if !r.operator.set || p.Vendor == "" {
		return
	}
	if m, ok := b.resolve(p.Vendor, r.operator, "provider "+p.Name+": operator"); ok {
		p.Operator, p.OperatorHandle = m.ID, m.Handle
	}
}

// later returns the later of two positions in one file.
func later(a, b Pos) Pos {
	if b.Line > a.Line || (b.Line == a.Line && b.Col > a.Col) {
		return b
	}
	return a
}

// takesWorkspace reports whether v's providers take workspace:.
func takesWorkspace(v Vendor) bool {
	d, ok := lookup(v)
	return ok && d.Fields.Workspace
}

// workspaceVendors names the vendors whose providers take workspace:.
func workspaceVendors() string {
	return vendors.Join(func(d *vendors.Vendor) bool { return d.Fields.Workspace },
		func(d *vendors.Vendor) string { return d.Name }, " or ")
}

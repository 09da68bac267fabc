package spec

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"groupsync/internal/vendors"
)

// Auth is a provider's `auth:` block: the app's credentials. Ids are kept
// as written (or as an ${ENV} reference); secrets only as the environment
// variable that holds them, resolved when a command needs the token.
type Auth struct {
	// Values are the fields written literally, by name (ids only).
	Values map[string]string
	// Env names the environment variable of each field written ${VAR}, by
	// name (every secret; an id may be too).
	Env map[string]string
}

// ResolveAuth returns the provider's credentials, with every ${VAR} looked
// up with lookup. The error names the provider, the field and the variable,
// never a value.
func (p *Provider) ResolveAuth(lookup func(string) (string, bool)) (vendors.Credentials, error) {
	if p.Auth == nil {
		return nil, fmt.Errorf("provider %s: has no auth block", p.Name)
	}
	out := vendors.Credentials{}
	for k, v := range p.Auth.Values {
		out[k] = v
	}
	names := make([]string, 0, len(p.Auth.Env))
	for k := range p.Auth.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		env := p.Auth.Env[k]
		v, ok := lookup(env)
		switch {
		case !ok:
			return nil, fmt.Errorf("provider %s: auth.%s: environment variable %s is not set", p.Name, k, env)
		case v == "":
			return nil, fmt.Errorf("provider %s: auth.%s: environment variable %s is empty", p.Name, k, env)
		}
		out[k] = v
	}
	return out, nil
}

// AuthEnv lists the environment variables the provider's auth block reads,
// sorted.
func (p *Provider) AuthEnv() []string {
	if p.Auth == nil {
		return nil
	}
	var out []string
	for _, v := range p.Auth.Env {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// auth decodes an auth: mapping; its fields are checked against the
// vendor's once the vendor is known (see builder.auth).
func (d *decoder) auth(n *yaml.Node, provider string) *rawAuth {
	a := &rawAuth{pos: d.pos(deref(n)), values: map[string]scalar{}}
	ok := d.mapping(n, "provider "+provider+" auth", nil, func(k, v *yaml.Node) {
		a.keys = append(a.keys, scalar{val: k.Value, pos: d.pos(k), set: true})
		a.values[k.Value] = d.str(v, "auth."+k.Value)
	})
	if !ok {
		return nil
	}
	return a
}

// auth checks an auth block against the vendor's fields: each one given,
// no other, secrets as ${VAR} references. No message repeats a value.
func (b *builder) auth(p *Provider, r *rawAuth) *Auth {
	d, known := lookup(p.Vendor)
	if !known || d.Auth == nil {
		b.errs.add(r.pos, "provider %s: vendor %s takes no auth block: use token or tokenCommand", p.Name, p.Vendor)
		return nil
	}
	var names []string
	for _, f := range d.Auth.Fields {
		names = append(names, f.Name)
	}
	out := &Auth{Values: map[string]string{}, Env: map[string]string{}}
	for _, k := range r.keys {
		if !slices.Contains(names, k.val) {
			b.errs.add(k.pos, "unknown field %q in provider %s auth%s", k.val, p.Name, suggest(k.val, names))
		}
	}
	valid := true
	for _, f := range d.Auth.Fields {
		v, given := r.values[f.Name]
		switch {
		case !given:
			b.errs.add(r.pos, "provider %s: auth needs %s (%s takes %s)", p.Name, f.Name, p.Vendor, strings.Join(names, " and "))
			valid = false
		case !v.set || v.val == "":
			b.errs.add(v.pos, "provider %s: auth.%s is empty", p.Name, f.Name)
			valid = false
		case envRE.MatchString(v.val):
			out.Env[f.Name] = envRE.FindStringSubmatch(v.val)[1]
		case f.Secret && strings.Contains(v.val, "${"):
			b.errs.add(v.pos, "provider %s: auth.%s must be exactly one ${ENV_VAR} reference, nothing around it", p.Name, f.Name)
			valid = false
		case f.Secret:
			b.errs.add(v.pos, "provider %s: auth.%s: a literal secret is refused: use ${ENV_VAR}", p.Name, f.Name)
			valid = false
		default:
			out.Values[f.Name] = v.val
		}
	}
	if !valid {
		return nil
	}
	return out
}

// commandTimeout reads tokenCommandTimeout: a positive duration ("45s",
// "2m"), only beside a tokenCommand.
func (b *builder) commandTimeout(p *Provider, r *rawProvider) {
	if !r.cmdTimeout.set {
		return
	}
	if _, ok := r.fields["tokenCommand"]; !ok {
		b.errs.add(r.cmdTimeout.pos, "provider %s: tokenCommandTimeout is for tokenCommand, which this provider does not use", p.Name)
		return
	}
	d, err := time.ParseDuration(r.cmdTimeout.val)
	if err != nil || d <= 0 {
		b.errs.add(r.cmdTimeout.pos, "provider %s: tokenCommandTimeout must be a positive duration such as 30s or 2m", p.Name)
		return
	}
	p.TokenCommandTimeout = d
}

package spec

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"groupsync/internal/vendors"
)

var (
	// keyRE is the form of a group key, a previously key and a provider
	// name: ASCII letters, digits, '.', '_' and '-', starting with a letter
	// or digit, at most 100 characters. Keys are typed on command lines
	// (state show KEY) and stored in the state, so they stay plain.
	keyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	// handleRE is the form of a people handle: a letter (any script), then
	// letters, digits, '.', '_' or '-', at most 64 characters. Starting with
	// a letter and having no '@' keeps handles apart from Lunkr uids and
	// emails.
	handleRE = regexp.MustCompile(`^\pL[\pL\pN._-]{0,63}$`)
	// envRE is a token reference: exactly ${NAME}.
	envRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
)

const (
	keyForm    = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 100"
	handleForm = "a letter, then letters, digits, '.', '_' or '-', at most 64"
)

// lookup returns the registered vendor v: the vendors themselves (id
// rules, fields, capabilities, endpoints) live in their own packages and
// reach spec through the vendors registry.
func lookup(v Vendor) (*vendors.Vendor, bool) { return vendors.Lookup(string(v)) }

// vendorNames lists the registered vendors in prose: "a or b".
func vendorNames() string { return strings.Join(vendors.Names(), " or ") }

// idForm says in words what an id of v looks like, for error messages.
func idForm(v Vendor) string {
	if d, ok := lookup(v); ok {
		return d.IDs.Form
	}
	return "an id of " + string(v)
}

// normalizeID reports whether s looks like a user id of v and returns it in
// canonical form (the vendor's id rules).
func normalizeID(v Vendor, s string) (string, bool) {
	if d, ok := lookup(v); ok {
		return d.IDs.Normalize(s)
	}
	return "", false
}

// idKey is the form in which two ids of v compare equal (Lunkr emails
// without case, by the vendor's rules).
func idKey(v Vendor, id string) string {
	if d, ok := lookup(v); ok {
		return d.IDs.CompareKey(id)
	}
	return id
}

// normalizeGroupID reports whether s looks like a group id of v and returns
// it in canonical form.
func normalizeGroupID(v Vendor, s string) (string, bool) {
	if d, ok := lookup(v); ok {
		return d.IDs.NormalizeGroup(s)
	}
	return "", false
}

// checkEndpoint returns the endpoint in canonical form (ending in '/') or a
// message saying what is wrong with it.
func checkEndpoint(raw string) (string, string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return "", "is not an absolute URL: write it as https://host/path/"
	case u.User != nil:
		return "", "must not carry a user or password: the token goes in token or tokenCommand"
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", "must not have a query or fragment"
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", "must use https:// (plain http:// is allowed only for a loopback host)"
	}
	if !strings.HasSuffix(raw, "/") {
		raw += "/"
	}
	return raw, ""
}

// isLoopback reports whether host is localhost or a loopback IP
// (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Vendors lists the vendors groupsync supports: the registered ones.
func Vendors() []Vendor {
	var out []Vendor
	for _, n := range vendors.Names() {
		out = append(out, Vendor(n))
	}
	return out
}

// NormalizeGroupID reports whether s is a group id of vendor v by that
// vendor's id rules, and returns it in canonical form (the form the state
// and the manifest's groupId hold).
func NormalizeGroupID(v Vendor, s string) (string, bool) { return normalizeGroupID(v, s) }

// GroupIDForm says in words what a group id of v looks like, for messages.
func GroupIDForm(v Vendor) string { return groupIDForm(v) }

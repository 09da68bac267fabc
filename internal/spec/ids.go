package spec

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/yunzhijia"
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

// defaultEndpoints are the vendors' production bases.
var defaultEndpoints = map[Vendor]string{
	Yunzhijia: "https://www.yunzhijia.com/gateway/",
	Lunkr:     "https://api.lunkr.cn/api/",
}

// idForm says in words what an id of v looks like, for error messages.
func idForm(v Vendor) string {
	if v == Lunkr {
		return "a lunkr id (an email address or a decimal uid)"
	}
	return "a yunzhijia id (24 hexadecimal digits)"
}

// normalizeID reports whether s looks like a user id of v and returns it in
// canonical form: Yunzhijia ids in lower case; Lunkr ids as written (emails
// are compared without case, see idKey).
func normalizeID(v Vendor, s string) (string, bool) {
	switch v {
	case Yunzhijia:
		if isYunzhijiaID(s) {
			return strings.ToLower(s), true
		}
	case Lunkr:
		if lunkr.IsUserID(s) {
			return s, true
		}
	}
	return "", false
}

// idKey is the form in which two ids of v compare equal: Lunkr emails
// without case.
func idKey(v Vendor, id string) string {
	if v == Lunkr {
		return strings.ToLower(id)
	}
	return id
}

// isYunzhijiaID reports whether s is 24 hexadecimal digits: the vendor
// package's rule, the one definition.
func isYunzhijiaID(s string) bool { return yunzhijia.IsID(s) }

// normalizeGroupID reports whether s looks like a group id of v: Yunzhijia
// 24 hexadecimal digits, Lunkr a decimal number.
func normalizeGroupID(v Vendor, s string) (string, bool) {
	switch v {
	case Yunzhijia:
		if isYunzhijiaID(s) {
			return strings.ToLower(s), true
		}
	case Lunkr:
		if lunkr.IsGroupID(s) {
			return s, true
		}
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

// Vendors lists the vendors groupsync supports.
func Vendors() []Vendor { return []Vendor{Yunzhijia, Lunkr} }

// NormalizeGroupID reports whether s is a group id of vendor v by that
// vendor's id rules, and returns it in canonical form (the form the state
// and the manifest's groupId hold).
func NormalizeGroupID(v Vendor, s string) (string, bool) { return normalizeGroupID(v, s) }

// GroupIDForm says in words what a group id of v looks like, for messages.
func GroupIDForm(v Vendor) string { return groupIDForm(v) }

package state

import (
	"slices"
	"strings"
)

// A PostgreSQL state may also be named by a libpq key=value connection
// string ("host=db dbname=groupsync user=gs"), as psql and pg_dump take
// one; pgx reads it as libpq does. Without this, such a string would open
// a SQLite file of that name and print its password wherever the state is
// named.

// conninfoKeywords are libpq's connection parameter keywords (to version
// 18) and pgx's alias database. A state location that is a key=value list
// naming one of them, or that begins with one and an equals sign, is a
// connection string: a file whose name would read as one (./host=x) is
// written with a directory.
var conninfoKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "database": true, "user": true,
	"password": true, "passfile": true, "require_auth": true, "channel_binding": true, "connect_timeout": true,
	"client_encoding": true, "options": true, "application_name": true, "fallback_application_name": true,
	"keepalives": true, "keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
	"tcp_user_timeout": true, "replication": true, "gssencmode": true, "sslmode": true,
	"sslnegotiation": true, "sslcompression": true, "sslcert": true, "sslkey": true, "sslpassword": true,
	"sslcertmode": true, "sslrootcert": true, "sslcrl": true, "sslcrldir": true, "sslsni": true,
	"sslkeylogfile": true, "requirepeer": true, "ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"min_protocol_version": true, "max_protocol_version": true, "krbsrvname": true, "gsslib": true,
	"gssdelegation": true, "service": true, "servicefile": true, "target_session_attrs": true,
	"load_balance_hosts": true, "oauth_issuer": true, "oauth_client_id": true, "oauth_client_secret": true,
	"oauth_scope": true,
}

// secretKeywords are the keywords whose values are secrets, in a
// connection string and in a URL's query alike.
var secretKeywords = []string{"password", "sslpassword", "oauth_client_secret"}

func isSecretKeyword(k string) bool { return slices.Contains(secretKeywords, k) }

// isConninfo reports whether loc is a key=value connection string: a list
// of them that names a libpq keyword, or, when it does not parse (an
// unterminated quote), one whose first word is a keyword and an equals
// sign, so that it is refused as a connection string and not shown.
func isConninfo(loc string) bool {
	if pairs, ok := parseConninfo(loc); ok {
		return slices.ContainsFunc(pairs, func(p conninfoPair) bool { return conninfoKeywords[p.key] })
	}
	k, eq := firstKeyword(loc)
	return eq && conninfoKeywords[k]
}

// conninfoSpace is white space as libpq reads it.
const conninfoSpace = " \t\n\r\f\v"

func isConninfoSpace(c byte) bool { return strings.IndexByte(conninfoSpace, c) >= 0 }

// firstKeyword returns the first word of s, and whether an equals sign
// follows it.
func firstKeyword(s string) (string, bool) {
	s = strings.TrimLeft(s, conninfoSpace)
	i := strings.IndexAny(s, "="+conninfoSpace)
	if i <= 0 {
		return "", false
	}
	return s[:i], strings.HasPrefix(strings.TrimLeft(s[i:], conninfoSpace), "=")
}

// conninfoPair is one keyword and its value (unquoted, unescaped) of a
// connection string, with where the value is written in it.
type conninfoPair struct {
	key, value string
	start, end int // the value as written, quotes included
}

// parseConninfo splits a connection string as libpq does: keyword = value,
// the value bare up to white space or in single quotes, a backslash
// escaping the next character in either. It reports false for a string
// libpq would refuse (a missing equals sign, an unterminated quote).
func parseConninfo(s string) ([]conninfoPair, bool) {
	var out []conninfoPair
	i := 0
	for {
		for i < len(s) && isConninfoSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, true
		}
		k := i
		for i < len(s) && s[i] != '=' && !isConninfoSpace(s[i]) {
			i++
		}
		key := s[k:i]
		for i < len(s) && isConninfoSpace(s[i]) {
			i++
		}
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, false
		}
		i++
		for i < len(s) && isConninfoSpace(s[i]) {
			i++
		}
		p := conninfoPair{key: key, start: i}
		var v strings.Builder
		quoted := i < len(s) && s[i] == '\''
		if quoted {
			i++
		}
		for {
			if i == len(s) {
				if quoted {
					return nil, false
				}
				break
			}
			c := s[i]
			if quoted && c == '\'' {
				i++
				break
			}
			if !quoted && isConninfoSpace(c) {
				break
			}
			if c == '\\' {
				if i++; i == len(s) {
					if quoted {
						return nil, false
					}
					break // libpq drops a trailing backslash
				}
				c = s[i]
			}
			v.WriteByte(c)
			i++
		}
		p.value, p.end = v.String(), i
		out = append(out, p)
	}
}

// redactConninfo returns the connection string with every secret value
// (secretKeywords) replaced by REDACTED, the rest as written; one that does
// not parse (isConninfo took it by its first keyword) is shown only by that
// keyword.
func redactConninfo(s, redacted string) string {
	pairs, ok := parseConninfo(s)
	if !ok {
		k, _ := firstKeyword(s)
		return k + "=…"
	}
	var b strings.Builder
	last := 0
	for _, p := range pairs {
		if isSecretKeyword(p.key) {
			b.WriteString(s[last:p.start])
			b.WriteString(redacted)
			if p.end < len(s) && !isConninfoSpace(s[p.end]) {
				b.WriteByte(' ') // a quoted value may end with no space before the next keyword
			}
			last = p.end
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// conninfoSecrets returns the secrets a connection string holds.
func conninfoSecrets(s string) []string {
	pairs, _ := parseConninfo(s)
	var out []string
	for _, p := range pairs {
		if isSecretKeyword(p.key) && p.value != "" {
			out = append(out, p.value)
		}
	}
	return out
}

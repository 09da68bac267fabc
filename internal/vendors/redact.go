package vendors

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted is what a secret is replaced with.
const Redacted = "REDACTED"

// Redactor removes registered secrets (access tokens, app secrets, database
// passwords) from text, in every encoding a vendor, a proxy or a library
// may echo them in: raw; percent-encoded (query or path escaping, either hex
// case, even twice, '+' for a space); JSON-escaped (`\/`, `\u002b`,
// `\u002B`, surrogate pairs, short escapes); or any mix of these, character
// by character. A matcher that accepts every encoding of each character is
// used rather than a list of encoded forms: a list always misses one (the
// lower-case hex of one vendor, the `\/` of another).
//
// The zero value is ready to use and safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secrets; empty strings are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s != "" && !contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
}

// Redact returns s with every registered secret, in any encoding, replaced
// by Redacted.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return redactSecrets(s, r.secrets)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// redactSecrets replaces every encoding of each secret in s.
func redactSecrets(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = redactOne(s, sec)
		}
	}
	return s
}

// redactOne scans s once; at each byte that can begin an encoding of
// secret's first character it tries to match the whole secret.
func redactOne(s, secret string) string {
	var b strings.Builder
	last := 0 // s[last:i] is not yet copied
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != secret[0] && c != '%' && c != '\\' && c != '+' {
			continue
		}
		end, ok := matchSecret(s, i, secret, 0)
		if !ok {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(Redacted)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// matchSecret reports whether s, from p, holds secret[k:] in some encoding,
// and where that encoding ends. Each character of the secret may be
// encoded on its own: JSON escapes work on characters (runes), percent
// encoding on bytes.
func matchSecret(s string, p int, secret string, k int) (int, bool) {
	if k == len(secret) {
		return p, true
	}
	if p >= len(s) {
		return 0, false
	}
	// A JSON escape of the whole character.
	if s[p] == '\\' {
		r, size := utf8.DecodeRuneInString(secret[k:])
		if n := jsonEscape(s[p:], r); n > 0 {
			if end, ok := matchSecret(s, p+n, secret, k+size); ok {
				return end, true
			}
		}
	}
	// One byte: raw, percent-encoded once or twice, or '+' for a space.
	c := secret[k]
	if s[p] == c {
		if end, ok := matchSecret(s, p+1, secret, k+1); ok {
			return end, true
		}
	}
	if c == ' ' && s[p] == '+' {
		if end, ok := matchSecret(s, p+1, secret, k+1); ok {
			return end, true
		}
	}
	if c == ' ' && s[p] == '%' && hexByte(s, p+1) == '+' { // "+", escaped again
		if end, ok := matchSecret(s, p+3, secret, k+1); ok {
			return end, true
		}
	}
	if s[p] == '%' {
		if hexByte(s, p+1) == int(c) {
			if end, ok := matchSecret(s, p+3, secret, k+1); ok {
				return end, true
			}
		}
		// Twice escaped: %25 then the two hex digits.
		if hexByte(s, p+1) == '%' && hexByte(s, p+3) == int(c) {
			if end, ok := matchSecret(s, p+5, secret, k+1); ok {
				return end, true
			}
		}
	}
	return 0, false
}

// hexByte reads two hex digits (either case) at s[p:], or returns -1.
func hexByte(s string, p int) int {
	if p+2 > len(s) {
		return -1
	}
	hi, lo := unhex(s[p]), unhex(s[p+1])
	if hi < 0 || lo < 0 {
		return -1
	}
	return hi<<4 | lo
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// jsonEscape returns the length of a JSON escape of r at the start of s
// (`\uXXXX` in either hex case, a surrogate pair, or a short escape such as
// `\/`), or 0.
func jsonEscape(s string, r rune) int {
	if len(s) < 2 || s[0] != '\\' {
		return 0
	}
	if v, ok := shortEscape(s[1]); ok {
		if v == r {
			return 2
		}
		return 0
	}
	u1, ok := u4(s)
	if !ok {
		return 0
	}
	if rune(u1) == r {
		return 6
	}
	if r > 0xFFFF && len(s) >= 12 {
		if u2, ok := u4(s[6:]); ok {
			hi, lo := surrogates(r)
			if u1 == hi && u2 == lo {
				return 12
			}
		}
	}
	return 0
}

// shortEscape is the character a two-character JSON escape `\c` stands for.
func shortEscape(c byte) (rune, bool) {
	switch c {
	case '/', '"', '\\':
		return rune(c), true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// u4 reads `\uXXXX` at the start of s.
func u4(s string) (int, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	hi, lo := hexByte(s, 2), hexByte(s, 4)
	if hi < 0 || lo < 0 {
		return 0, false
	}
	return hi<<8 | lo, true
}

// surrogates splits a rune above U+FFFF into its UTF-16 pair.
func surrogates(r rune) (int, int) {
	r -= 0x10000
	return 0xD800 + int(r>>10)&0x3FF, 0xDC00 + int(r)&0x3FF
}

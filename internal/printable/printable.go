// Package printable escapes text that came from outside (a vendor's
// answer, a state file, a command line) before it is printed, so that it can
// neither break a line nor drive a terminal: control characters (ESC, CR,
// newlines), format characters such as bidirectional overrides, and bytes
// that are not UTF-8 are shown escaped, as Go writes them in a string
// literal. It is the one definition every output uses: the plan renderers,
// `state list` and `state show`, the apply summary, and vendor errors.
package printable

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that is not graphic escaped
// (`\x1b`, `\n`, `\u202e`) and every invalid byte as `\xNN`; text with
// none is returned as it is. Spaces stay, a backslash stays as it is.
func Escape(s string) string {
	if strings.IndexFunc(s, notGraphic) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])>>4, 16))
			b.WriteString(strconv.FormatUint(uint64(s[i])&15, 16))
		case notGraphic(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func notGraphic(r rune) bool { return !unicode.IsGraphic(r) }

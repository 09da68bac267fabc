// Package printable escapes text that came from outside (a vendor's
// answer, a state file, a command line) before it is printed, so that it can
// neither break a line nor drive a terminal: control characters (ESC, CR,
// newlines), format characters such as bidirectional overrides, and bytes
// that are not UTF-8 are shown escaped, as Go writes them in a string
// literal. It is the one definition every output uses: the plan renderers,
// `state list` and `state show`, the apply summary, and vendor errors.
package printable

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
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

// JSON returns encoded JSON with every character that is not graphic
// written as a \uXXXX escape (a surrogate pair above U+FFFF), except the
// whitespace JSON allows between tokens. encoding/json escapes the C0
// controls but writes DEL, the C1 controls (U+0080–U+009F, which some
// terminals obey) and bidirectional overrides raw; escaped, the document
// decodes to the same values. b must be valid JSON as encoding/json writes
// it (such characters can only be inside its strings).
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if escapeInJSON(r, size) {
			break
		}
		i += size
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if !escapeInJSON(r, size) {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			out = appendU(appendU(out, hi), lo)
		} else {
			out = appendU(out, r)
		}
		i += size
	}
	return out
}

func escapeInJSON(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return false // not written by encoding/json; left as it is
	case r == ' ' || r == '\t' || r == '\n' || r == '\r':
		return false
	}
	return notGraphic(r)
}

func appendU(b []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
}

// JSONWriter returns a writer that passes each Write through JSON: for a
// writer that receives whole JSON documents or lines in each Write, as
// slog's JSON handler does.
func JSONWriter(w io.Writer) io.Writer { return jsonWriter{w} }

type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	if _, err := j.w.Write(JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

package vendors

import (
	"strings"
	"unicode/utf8"
)

// Canonical is the notice's canonical encoding, the bytes its content hash
// is taken over: {"title":T,"content":C}, both fields always, each string
// written by canonicalString. It is spelled out here, not left to a JSON
// encoder of the struct, so that renaming a field or changing a tag can
// never change a hash the state already holds (a changed hash would post
// every notice again). It equals what encoding/json made of the struct
// when hashes were first stored.
func (n Notice) Canonical() []byte {
	var b strings.Builder
	b.WriteString(`{"title":`)
	canonicalString(&b, n.Title)
	b.WriteString(`,"content":`)
	canonicalString(&b, n.Content)
	b.WriteString(`}`)
	return []byte(b.String())
}

// Canonical is the banner's canonical encoding: its non-empty fields in a
// fixed order and with fixed names, as Notice.Canonical explains.
func (bn Banner) Canonical() []byte {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, f := range []struct{ name, val string }{
		{"content", bn.Content},
		{"title", bn.Title},
		{"lightAppId", bn.LightAppID},
		{"thumbUrl", bn.ThumbURL},
		{"webpageUrl", bn.WebpageURL},
		{"primaryContent", bn.PrimaryContent},
		{"contentUrl", bn.ContentURL},
	} {
		if f.val == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(`"` + f.name + `":`)
		canonicalString(&b, f.val)
	}
	b.WriteByte('}')
	return []byte(b.String())
}

const hexDigits = "0123456789abcdef"

// canonicalString writes s as a quoted string: '"' and '\\' escaped with a
// backslash; \b, \f, \n, \r and \t by name; other control characters, '<',
// '>', '&', U+2028 and U+2029 as \u00XX (lower-case hex); a byte that is
// not UTF-8 as \ufffd; everything else as it is.
func canonicalString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\b':
				b.WriteString(`\b`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\ufffd`)
		case r == '\u2028':
			b.WriteString(`\u2028`)
		case r == '\u2029':
			b.WriteString(`\u2029`)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

package render

import (
	"strconv"

	"groupsync/internal/printable"
)

// clean escapes the characters of s that are not graphic (control and
// format characters such as newlines, ESC or bidirectional overrides), so a
// name or a vendor's message can neither break a line nor drive a terminal.
// The rule is printable's, shared by every output.
func clean(s string) string { return printable.Escape(s) }

// quote is s in double quotes, escaped as Go does (printable Unicode kept).
func quote(s string) string { return strconv.Quote(s) }

// width is how many terminal columns s takes: East Asian wide characters
// take two.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if wide(r) {
			n++
		}
	}
	return n
}

// wide reports the common East Asian wide and fullwidth ranges.
func wide(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r <= 0x115f, // Hangul Jamo
		r >= 0x2e80 && r <= 0x303e, // CJK radicals, punctuation
		r >= 0x3041 && r <= 0x33ff, // kana, CJK symbols
		r >= 0x3400 && r <= 0x4dbf, // CJK extension A
		r >= 0x4e00 && r <= 0x9fff, // CJK unified ideographs
		r >= 0xa000 && r <= 0xa4cf, // Yi
		r >= 0xac00 && r <= 0xd7a3, // Hangul syllables
		r >= 0xf900 && r <= 0xfaff, // CJK compatibility ideographs
		r >= 0xfe30 && r <= 0xfe4f, // CJK compatibility forms
		r >= 0xff00 && r <= 0xff60, // fullwidth forms
		r >= 0xffe0 && r <= 0xffe6,
		r >= 0x20000 && r <= 0x3fffd:
		return true
	}
	return false
}

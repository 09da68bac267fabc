// Package jsonscan reads the few JSON shapes of a vendor's hottest answers
// (a group's member list) in one pass, without encoding/json's reflection
// and its allocation per value. A Scanner handles only plain input: a
// string with an escape, a control character or invalid UTF-8, or any
// shape its caller does not expect, turns OK false, and the caller then
// decodes the same bytes with encoding/json. So it never decides what an
// answer means on its own: it is a fast path, checked against the slow one
// by the vendors' fuzz tests.
package jsonscan

import "unicode/utf8"

// Scanner reads JSON from B at I; OK turns false at the first thing it
// does not handle, and stays false.
type Scanner struct {
	B  string // the whole input: the strings read are slices of it, one allocation for all
	I  int
	OK bool
}

// New returns a scanner of b.
func New(b string) *Scanner { return &Scanner{B: b, OK: true} }

// Peek returns the next byte after white space, 0 at the end.
func (s *Scanner) Peek() byte {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
			continue
		}
		return s.B[s.I]
	}
	return 0
}

// End reports whether only white space is left.
func (s *Scanner) End() bool { return s.Peek() == 0 && s.I == len(s.B) }

// Expect consumes c after white space.
func (s *Scanner) Expect(c byte) {
	if s.Peek() != c {
		s.OK = false
		return
	}
	s.I++
}

// Str reads a string with no escape and no control character, valid UTF-8.
func (s *Scanner) Str() string {
	if s.Peek() != '"' {
		s.OK = false
		return ""
	}
	start := s.I + 1
	end := start
	// The common string is plain ASCII: one table lookup per byte.
	for end < len(s.B) && plainByte[s.B[end]] {
		end++
	}
	if end < len(s.B) && s.B[end] >= utf8.RuneSelf {
		for end < len(s.B) && s.B[end] != '"' && s.B[end] != '\\' && s.B[end] >= 0x20 {
			end++
		}
		if !utf8.ValidString(s.B[start:end]) {
			s.OK = false
			return ""
		}
	}
	if end >= len(s.B) || s.B[end] != '"' {
		s.OK = false
		return ""
	}
	s.I = end + 1
	return s.B[start:end]
}

// plainByte holds the bytes a string may have as they are: ASCII but for
// the quote, the backslash and control characters.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Strings reads a list of strings; [] is an empty list, not nil.
func (s *Scanner) Strings() []string {
	s.Expect('[')
	out := []string{}
	if s.Peek() == ']' {
		s.I++
		return out
	}
	for s.OK {
		out = append(out, s.Str())
		switch s.Peek() {
		case ',':
			s.I++
		case ']':
			s.I++
			return out
		default:
			s.OK = false
		}
	}
	return nil
}

// Literal reads a number, true, false or null as written.
func (s *Scanner) Literal() string {
	s.Peek()
	start := s.I
	for s.I < len(s.B) {
		c := s.B[s.I]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		s.I++
	}
	lit := s.B[start:s.I]
	if lit != "null" && lit != "true" && lit != "false" && !IsNumber(lit) {
		s.OK = false
	}
	return lit
}

// IsNumber reports whether lit is a number as JSON writes one.
func IsNumber(lit string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(lit) && lit[i] >= '0' && lit[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(lit) && lit[i] == '-' {
		i++
	}
	switch {
	case i < len(lit) && lit[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(lit) && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		if i < len(lit) && (lit[i] == '+' || lit[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(lit)
}

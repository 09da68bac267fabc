package yunzhijia

import "unicode/utf8"

// scanGroupUsers decodes the common success answer of groupUsers in one
// pass, without reflection: {"data": {"managerIds": [...],
// "participantIds": [...]}, "success": true, "errorCode": N, "error": ...}
// with plain strings. Anything else (another key or case, an escaped
// string, a duplicate key, success other than true) reports false, and
// decodeAnswer reads the answer with its errors. What it accepts is valid
// JSON: it checks what it reads.
func scanGroupUsers(body []byte) (groupUsersData, bool) {
	var d groupUsersData
	s := &scanner{b: body, ok: true}
	var seen [4]bool
	success := false
	s.expect('{')
	for s.ok {
		key := s.str()
		s.expect(':')
		if !s.ok {
			break
		}
		i := -1
		switch key {
		case "data":
			i = 0
			d = s.data()
		case "success":
			i = 1
			success = s.literal() == "true"
		case "errorCode":
			i = 2
			if lit := s.literal(); lit != "null" && !isNumber(lit) {
				s.ok = false
			}
		case "error":
			i = 3
			if s.peek() == '"' {
				s.str()
			} else if s.literal() != "null" {
				s.ok = false
			}
		default:
			s.ok = false
		}
		if i < 0 || seen[i] {
			s.ok = false
			break
		}
		seen[i] = true
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return d, s.ok && s.end() && success && seen[0]
		default:
			s.ok = false
		}
	}
	return d, false
}

// data reads groupUsers' data object.
func (s *scanner) data() groupUsersData {
	var d groupUsersData
	s.expect('{')
	if s.peek() == '}' {
		s.i++
		return d
	}
	var seen [2]bool
	for s.ok {
		key := s.str()
		s.expect(':')
		var ids []string
		if s.peek() == 'n' {
			if s.literal() != "null" {
				s.ok = false
			}
		} else {
			ids = s.strings()
		}
		switch {
		case key == "managerIds" && !seen[0]:
			d.ManagerIDs, seen[0] = ids, true
		case key == "participantIds" && !seen[1]:
			d.ParticipantIDs, seen[1] = ids, true
		default:
			s.ok = false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return d
		default:
			s.ok = false
		}
	}
	return d
}

// scanner reads JSON that it checks as it goes; ok turns false at the
// first thing it does not handle.
type scanner struct {
	b  []byte
	i  int
	ok bool
}

func (s *scanner) peek() byte {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
			continue
		}
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) end() bool { return s.peek() == 0 && s.i == len(s.b) }

func (s *scanner) expect(c byte) {
	if s.peek() != c {
		s.ok = false
		return
	}
	s.i++
}

// str reads a string with no escape and no control character, valid UTF-8.
func (s *scanner) str() string {
	if s.peek() != '"' {
		s.ok = false
		return ""
	}
	start := s.i + 1
	end := start
	for end < len(s.b) && s.b[end] != '"' {
		if s.b[end] == '\\' || s.b[end] < 0x20 {
			s.ok = false
			return ""
		}
		end++
	}
	if end >= len(s.b) || !utf8.Valid(s.b[start:end]) {
		s.ok = false
		return ""
	}
	s.i = end + 1
	return string(s.b[start:end])
}

// strings reads a list of strings; [] is an empty list, not nil.
func (s *scanner) strings() []string {
	s.expect('[')
	out := []string{}
	if s.peek() == ']' {
		s.i++
		return out
	}
	for s.ok {
		out = append(out, s.str())
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return out
		default:
			s.ok = false
		}
	}
	return nil
}

// literal reads true, false, null or a number.
func (s *scanner) literal() string {
	s.peek()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		s.i++
	}
	lit := string(s.b[start:s.i])
	if lit != "null" && lit != "true" && lit != "false" && !isNumber(lit) {
		s.ok = false
	}
	return lit
}

// isNumber reports whether lit is a number as JSON writes one.
func isNumber(lit string) bool {
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

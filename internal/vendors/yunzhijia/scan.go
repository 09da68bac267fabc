package yunzhijia

import "groupsync/internal/vendors/jsonscan"

// scanGroupUsers decodes the common success answer of groupUsers in one
// pass, without reflection: {"data": {"managerIds": [...],
// "participantIds": [...]}, "success": true, "errorCode": N, "error": ...}
// with plain strings. Anything else (another key or case, an escaped
// string, a duplicate key, success other than true) reports false, and
// decodeAnswer reads the answer with its errors. What it accepts is valid
// JSON: it checks what it reads.
func scanGroupUsers(body []byte) (groupUsersData, bool) {
	var d groupUsersData
	s := &scanner{*jsonscan.New(string(body))}
	var seen [4]bool
	success := false
	s.Expect('{')
	for s.OK {
		key := s.Str()
		s.Expect(':')
		if !s.OK {
			break
		}
		i := -1
		switch key {
		case "data":
			i = 0
			d = s.data()
		case "success":
			i = 1
			success = s.Literal() == "true"
		case "errorCode":
			i = 2
			if lit := s.Literal(); lit != "null" && !jsonscan.IsNumber(lit) {
				s.OK = false
			}
		case "error":
			i = 3
			if s.Peek() == '"' {
				s.Str()
			} else if s.Literal() != "null" {
				s.OK = false
			}
		default:
			s.OK = false
		}
		if i < 0 || seen[i] {
			s.OK = false
			break
		}
		seen[i] = true
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return d, s.OK && s.End() && success && seen[0]
		default:
			s.OK = false
		}
	}
	return d, false
}

// data reads groupUsers' data object.
func (s *scanner) data() groupUsersData {
	var d groupUsersData
	s.Expect('{')
	if s.Peek() == '}' {
		s.I++
		return d
	}
	var seen [2]bool
	for s.OK {
		key := s.Str()
		s.Expect(':')
		var ids []string
		if s.Peek() == 'n' {
			if s.Literal() != "null" {
				s.OK = false
			}
		} else {
			ids = s.Strings()
		}
		switch {
		case key == "managerIds" && !seen[0]:
			d.ManagerIDs, seen[0] = ids, true
		case key == "participantIds" && !seen[1]:
			d.ParticipantIDs, seen[1] = ids, true
		default:
			s.OK = false
		}
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return d
		default:
			s.OK = false
		}
	}
	return d
}

// scanner reads JSON that it checks as it goes; OK turns false at the
// first thing it does not handle.
type scanner struct{ jsonscan.Scanner }

package lunkr

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// wireUsers is a list of users (members, subscribers). It decodes the
// common shape, objects of userId, email, userName and role with plain
// values, in one pass over the list; anything else (escaped strings,
// other cases of the field names, nested values, a number where a string
// belongs) is left to encoding/json element by element, so that its
// answers and its errors are exactly wireUser's.
type wireUsers []wireUser

func (us *wireUsers) UnmarshalJSON(b []byte) error {
	if out, ok := scanUsers(b); ok {
		*us = out
		return nil
	}
	var p []wireUser
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*us = p
	return nil
}

// userScanner reads a JSON value that encoding/json has already found
// valid; ok turns false at the first thing it does not handle.
type userScanner struct {
	b  string // the whole value: the strings read are slices of it, one allocation for all
	i  int
	ok bool
}

func (s *userScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (s *userScanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// expect consumes c after white space.
func (s *userScanner) expect(c byte) {
	if s.peek() != c {
		s.ok = false
		return
	}
	s.i++
}

// str reads a string with no escapes, valid UTF-8.
func (s *userScanner) str() string {
	if s.peek() != '"' {
		s.ok = false
		return ""
	}
	start := s.i + 1
	end := start
	ascii := true
	for end < len(s.b) {
		c := s.b[end]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			s.ok = false
			return ""
		}
		ascii = ascii && c < utf8.RuneSelf
		end++
	}
	if end >= len(s.b) || !ascii && !utf8.ValidString(s.b[start:end]) {
		s.ok = false
		return ""
	}
	s.i = end + 1
	return s.b[start:end]
}

// literal reads a number, true, false or null as written.
func (s *userScanner) literal() string {
	s.ws()
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		s.i++
	}
	lit := s.b[start:s.i]
	if lit != "null" && lit != "true" && lit != "false" && !isJSONNumber(lit) {
		s.ok = false
	}
	return lit
}

// isJSONNumber reports whether lit is a number as JSON writes one.
func isJSONNumber(lit string) bool {
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

func isNumber(lit string) bool { return lit != "" && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9') }

// scanUsers decodes a list of users in one pass, or reports false.
func scanUsers(b []byte) (wireUsers, bool) {
	s := &userScanner{b: string(b), ok: true}
	us, _ := s.users(0)
	return us, s.ok && s.end()
}

// users reads a list of users, or null (nil, true); hint is how many the
// answer says there are (memberCount, when it came first), a capacity.
func (s *userScanner) users(hint int) (us wireUsers, null bool) {
	if s.peek() == 'n' {
		if s.literal() != "null" {
			s.ok = false
		}
		return nil, true
	}
	s.expect('[')
	out := make(wireUsers, 0, min(max(hint, 0), 4096))
	if s.peek() == ']' {
		s.i++
		return out, false
	}
	for s.ok {
		var u wireUser
		switch s.peek() {
		case '"':
			v := s.str()
			if strings.Contains(v, "@") {
				u.Email = v
			} else {
				u.UserID = text(v)
			}
		case '{':
			u = s.user()
		default:
			s.ok = false
			return nil, false
		}
		out = append(out, u)
		switch s.peek() {
		case ',':
			s.i++
			continue
		case ']':
			s.i++
			return out, false
		}
		s.ok = false
	}
	return nil, false
}

// scanInfo decodes groups/info's var in one pass, or reports false: then
// encoding/json decodes it, with its errors.
func scanInfo(b []byte) (wireInfo, bool) {
	s := &userScanner{b: string(b), ok: true}
	w := s.info()
	return w, s.ok && s.end()
}

// scanInfoAnswer decodes a whole groups/info answer in one pass when it is
// the common success, {"code": "10000", "var": {...}} and nothing else,
// or reports false: then openEnvelope and encoding/json read it, with
// their errors. What it accepts is valid JSON: it checks what it reads.
func scanInfoAnswer(body []byte) (wireInfo, bool) {
	var w wireInfo
	s := &userScanner{b: string(body), ok: true}
	s.expect('{')
	code, hasVar := "", false
	for s.ok {
		key := s.str()
		s.expect(':')
		switch {
		case !s.ok:
		case key == "code" && s.peek() == '"':
			code = s.str()
		case key == "code":
			if code = s.literal(); !isNumber(code) {
				s.ok = false
			}
		case key == "var" && s.peek() == '{':
			w, hasVar = s.info(), true
		default:
			s.ok = false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return w, s.ok && s.end() && hasVar && code == CodeOK
		default:
			s.ok = false
		}
	}
	return w, false
}

// info reads groups/info's var.
func (s *userScanner) info() wireInfo {
	var w wireInfo
	s.expect('{')
	if s.peek() == '}' {
		s.i++
		return w
	}
	for s.ok {
		key := s.str()
		s.expect(':')
		if !s.ok {
			break
		}
		switch c := s.peek(); {
		case key == "members" || key == "subscribers":
			us, null := s.users(int(w.MemberCount))
			switch {
			case key == "subscribers":
				w.Subscribers = us
			case null:
				w.Members = nil
			default:
				w.Members = &us
			}
		case c == '"':
			v := s.str()
			switch key {
			case "groupId":
				w.GroupID = text(v)
			case "groupName":
				w.GroupName = v
			case "groupType":
				w.GroupType = v
			default:
				s.unknown(key, infoFields)
			}
		case c == '{' || c == '[':
			s.ok = false // a nested value: encoding/json's
		default:
			lit := s.literal()
			switch {
			case lit == "null":
				// null leaves a field as it was (members and subscribers
				// are read above).
				if !slices.Contains(infoFields, key) {
					s.unknown(key, infoFields)
				}
			case key == "groupId" && isNumber(lit):
				w.GroupID = text(lit)
			case key == "createTime" || key == "memberCount":
				n, err := strconv.ParseInt(lit, 10, 64)
				if err != nil {
					s.ok = false
				}
				if key == "createTime" {
					w.CreateTime = integer(n)
				} else {
					w.MemberCount = integer(n)
				}
			default:
				s.unknown(key, infoFields)
			}
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return w
		default:
			s.ok = false
		}
	}
	return w
}

var (
	infoFields = []string{"groupId", "groupName", "groupType", "createTime", "memberCount", "subscribers", "members"}
	userFields = []string{"userId", "email", "userName", "role"}
)

// end reports whether only white space is left.
func (s *userScanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// user reads one user object.
func (s *userScanner) user() wireUser {
	var u wireUser
	s.expect('{')
	if s.peek() == '}' {
		s.i++
		return u
	}
	for s.ok {
		key := s.str()
		s.expect(':')
		if !s.ok {
			return u
		}
		if s.peek() == '"' {
			v := s.str()
			switch key {
			case "userId":
				u.UserID = text(v)
			case "email":
				u.Email = v
			case "userName":
				u.UserName = v
			default:
				s.unknown(key, userFields)
			}
		} else {
			lit := s.literal()
			switch {
			case s.peek() != ',' && s.peek() != '}':
				s.ok = false // a nested value
			case lit == "null":
				if key == "role" {
					u.Role = nil
				} else if !isKnown(key) {
					s.unknown(key, userFields)
				}
			case key == "userId" && isNumber(lit):
				u.UserID = text(lit)
			case key == "role" && isNumber(lit):
				n, err := strconv.ParseInt(lit, 10, 64)
				if err != nil {
					s.ok = false
				}
				r := integer(n)
				u.Role = &r
			case isKnown(key):
				s.ok = false // a type encoding/json refuses: its error
			default:
				s.unknown(key, userFields)
			}
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return u
		default:
			s.ok = false
		}
	}
	return u
}

func isKnown(key string) bool {
	return key == "userId" || key == "email" || key == "userName" || key == "role"
}

// unknown accepts a field encoding/json ignores, unless its name matches
// one of known in any case, which encoding/json would decode.
func (s *userScanner) unknown(key string, known []string) {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			s.ok = false
		}
	}
}

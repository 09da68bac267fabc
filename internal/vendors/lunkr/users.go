package lunkr

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"groupsync/internal/vendors/jsonscan"
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

// userScanner reads a user list that encoding/json has already found
// valid; OK turns false at the first thing it does not handle.
type userScanner struct{ jsonscan.Scanner }

func isNumber(lit string) bool { return lit != "" && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9') }

// scanUsers decodes a list of users in one pass, or reports false.
func scanUsers(b []byte) (wireUsers, bool) {
	s := &userScanner{*jsonscan.New(string(b))}
	us, _ := s.users(0)
	return us, s.OK && s.End()
}

// users reads a list of users, or null (nil, true); hint is how many the
// answer says there are (memberCount, when it came first), a capacity.
func (s *userScanner) users(hint int) (us wireUsers, null bool) {
	if s.Peek() == 'n' {
		if s.Literal() != "null" {
			s.OK = false
		}
		return nil, true
	}
	s.Expect('[')
	out := make(wireUsers, 0, min(max(hint, 0), 4096))
	if s.Peek() == ']' {
		s.I++
		return out, false
	}
	for s.OK {
		var u wireUser
		switch s.Peek() {
		case '"':
			v := s.Str()
			if strings.Contains(v, "@") {
				u.Email = v
			} else {
				u.UserID = text(v)
			}
		case '{':
			u = s.user()
		default:
			s.OK = false
			return nil, false
		}
		out = append(out, u)
		switch s.Peek() {
		case ',':
			s.I++
			continue
		case ']':
			s.I++
			return out, false
		}
		s.OK = false
	}
	return nil, false
}

// scanInfo decodes groups/info's var in one pass, or reports false: then
// encoding/json decodes it, with its errors.
func scanInfo(b []byte) (wireInfo, bool) {
	s := &userScanner{*jsonscan.New(string(b))}
	w := s.info()
	return w, s.OK && s.End()
}

// scanInfoAnswer decodes a whole groups/info answer in one pass when it is
// the common success, {"code": "10000", "var": {...}} and nothing else,
// or reports false: then openEnvelope and encoding/json read it, with
// their errors. What it accepts is valid JSON: it checks what it reads.
func scanInfoAnswer(body []byte) (wireInfo, bool) {
	var w wireInfo
	s := &userScanner{*jsonscan.New(string(body))}
	s.Expect('{')
	code, hasVar := "", false
	for s.OK {
		key := s.Str()
		s.Expect(':')
		switch {
		case !s.OK:
		case key == "code" && s.Peek() == '"':
			code = s.Str()
		case key == "code":
			if code = s.Literal(); !isNumber(code) {
				s.OK = false
			}
		case key == "var" && s.Peek() == '{':
			w, hasVar = s.info(), true
		default:
			s.OK = false
		}
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return w, s.OK && s.End() && hasVar && code == CodeOK
		default:
			s.OK = false
		}
	}
	return w, false
}

// info reads groups/info's var.
func (s *userScanner) info() wireInfo {
	var w wireInfo
	s.Expect('{')
	if s.Peek() == '}' {
		s.I++
		return w
	}
	for s.OK {
		key := s.Str()
		s.Expect(':')
		if !s.OK {
			break
		}
		switch c := s.Peek(); {
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
			v := s.Str()
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
			s.OK = false // a nested value: encoding/json's
		default:
			lit := s.Literal()
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
					s.OK = false
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
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return w
		default:
			s.OK = false
		}
	}
	return w
}

var (
	infoFields = []string{"groupId", "groupName", "groupType", "createTime", "memberCount", "subscribers", "members"}
	userFields = []string{"userId", "email", "userName", "role"}
)

// user reads one user object.
func (s *userScanner) user() wireUser {
	var u wireUser
	s.Expect('{')
	if s.Peek() == '}' {
		s.I++
		return u
	}
	for s.OK {
		key := s.userKey()
		s.Expect(':')
		if !s.OK {
			return u
		}
		if s.Peek() == '"' {
			v := s.Str()
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
			lit := s.Literal()
			switch {
			case s.Peek() != ',' && s.Peek() != '}':
				s.OK = false // a nested value
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
					s.OK = false
				}
				r := integer(n)
				u.Role = &r
			case isKnown(key):
				s.OK = false // a type encoding/json refuses: its error
			default:
				s.unknown(key, userFields)
			}
		}
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return u
		default:
			s.OK = false
		}
	}
	return u
}

// userKey reads a user's field name: the four the vendor sends are
// matched as they stand, any other is read as a string.
func (s *userScanner) userKey() string {
	if s.Peek() == '"' && s.I+1 < len(s.B) {
		var k string
		switch s.B[s.I+1] {
		case 'u':
			k = "userId"
			if len(s.B) > s.I+5 && s.B[s.I+5] == 'N' {
				k = "userName"
			}
		case 'e':
			k = "email"
		case 'r':
			k = "role"
		}
		if end := s.I + 1 + len(k); k != "" && end < len(s.B) && s.B[end] == '"' && s.B[s.I+1:end] == k {
			s.I = end + 1
			return k
		}
	}
	return s.Str()
}

func isKnown(key string) bool {
	return key == "userId" || key == "email" || key == "userName" || key == "role"
}

// unknown accepts a field encoding/json ignores, unless its name matches
// one of known in any case, which encoding/json would decode.
func (s *userScanner) unknown(key string, known []string) {
	for _, k := range known {
		if strings.EqualFold(k, key) {
			s.OK = false
		}
	}
}

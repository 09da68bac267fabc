package lunkr

import (
	"slices"
	"strconv"
	"strings"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/jsonscan"
)

// The one-pass decoders of groups/info. A read of every group of a plan
// goes through them, so they build the checked group straight from the
// answer: no json.Unmarshal per member and no list of wire users between.
// They handle the common shape only: objects of userId, email, userName
// and role with plain values, or bare strings. Anything else (escaped
// strings, other cases of the field names, nested values, a number where
// only a string belongs: userId, groupId and code may be numbers, as the
// text type reads them; a member who fails the id rules) turns OK false, and
// encoding/json decodes the same bytes with its answers and its errors;
// FuzzFastDecode checks that the two agree.

// userScanner reads groups/info's answer; OK turns false at the first
// thing it does not handle.
type userScanner struct{ jsonscan.Scanner }

// peek is Peek for a member list's hot loop: the next byte when it is no
// white space, as in every answer the vendor sends, in one inlined
// comparison; Peek for the rest.
func (s *userScanner) peek() byte {
	if s.I < len(s.B) && s.B[s.I] > ' ' {
		return s.B[s.I]
	}
	return s.Peek()
}

func isNumber(lit string) bool { return lit != "" && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9') }

// scanInfo decodes groups/info's var in one pass into the group about
// groupID, or reports false.
func scanInfo(payload []byte, groupID string) (*vendors.Group, bool) {
	s := &userScanner{*jsonscan.New(string(payload))}
	g := s.info(groupID)
	return g, s.OK && s.End()
}

// scanInfoAnswer decodes a whole groups/info answer in one pass when it is
// the common success, {"code": "10000", "var": {...}} and nothing else,
// or reports false: then openEnvelope and encoding/json read it, with
// their errors. What it accepts is valid JSON: it checks what it reads.
func scanInfoAnswer(body []byte, groupID string) (*vendors.Group, bool) {
	var g *vendors.Group
	s := &userScanner{*jsonscan.New(string(body))}
	s.Expect('{')
	code := ""
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
			g = s.info(groupID)
		default:
			s.OK = false
		}
		switch s.Peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return g, s.OK && s.End() && g != nil && code == CodeOK
		default:
			s.OK = false
		}
	}
	return nil, false
}

// info reads groups/info's var into the group about groupID, as
// wireInfo.group would make it.
func (s *userScanner) info(groupID string) *vendors.Group {
	g := &vendors.Group{}
	var id string
	var count int
	hasMembers := false
	s.Expect('{')
	if s.Peek() == '}' {
		s.I++
		s.OK = false // no members: the slow path's error
		return g
	}
	for s.OK {
		key := s.Str()
		s.Expect(':')
		if !s.OK {
			break
		}
		switch c := s.Peek(); {
		case key == "members" || key == "subscribers":
			hint := count
			if key == "subscribers" {
				hint = 0
			}
			us, null := s.users(hint)
			switch {
			case key == "subscribers" && len(us) == 0:
				g.Subscribers = nil
			case key == "subscribers":
				g.Subscribers = us
			case null:
				hasMembers, g.Members = false, nil
			default:
				hasMembers, g.Members = true, us
			}
		case c == '"':
			v := s.Str()
			switch key {
			case "groupId":
				id = v
			case "groupName":
				g.Name = v
			case "groupType":
				g.Type = v
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
				id = lit
			case key == "createTime" || key == "memberCount":
				n, err := strconv.ParseInt(lit, 10, 64)
				if err != nil {
					s.OK = false
				}
				if key == "createTime" {
					g.CreateTime = n
				} else {
					count = int(n)
				}
			default:
				s.unknown(key, infoFields)
			}
		}
		switch s.Peek() {
		case ',':
			s.I++
			continue
		case '}':
			s.I++
			if g.ID = id; g.ID == "" {
				g.ID = groupID
			}
			if !hasMembers || !IsGroupID(g.ID) {
				s.OK = false // the slow path's error
			}
			return g
		}
		s.OK = false
	}
	return g
}

var (
	infoFields = []string{"groupId", "groupName", "groupType", "createTime", "memberCount", "subscribers", "members"}
	userFields = []string{"userId", "email", "userName", "role"}
)

// users reads a list of users, each checked, or null (nil, true); hint is
// how many the answer says there are (memberCount, when it came first), a
// capacity.
func (s *userScanner) users(hint int) (us []vendors.LiveMember, null bool) {
	if s.peek() == 'n' {
		if s.Literal() != "null" {
			s.OK = false
		}
		return nil, true
	}
	s.Expect('[')
	out := make([]vendors.LiveMember, 0, min(max(hint, 0), 4096))
	if s.peek() == ']' {
		s.I++
		return out, false
	}
	for s.OK {
		out = append(out, vendors.LiveMember{})
		u := &out[len(out)-1]
		checked := false
		switch s.peek() {
		case '"':
			v := s.Str()
			if strings.Contains(v, "@") {
				u.Email = v
			} else {
				u.ID = v
			}
		case '{':
			checked = s.user(u)
		default:
			s.OK = false
			return nil, false
		}
		if !checked && checkUser(u.ID, u.Email) != nil {
			s.OK = false // the slow path's error names the user
			return nil, false
		}
		switch s.peek() {
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

// user reads one user object into u, and reports whether it checked u
// as it read: the common user, a uid and an email read as they were
// checked, passes the id rules with no second look at either.
func (s *userScanner) user(u *vendors.LiveMember) (checked bool) {
	s.Expect('{')
	if s.peek() == '}' {
		s.I++
		return false
	}
	uid, email := false, false // read by the checking scans, not set since
	for s.OK {
		// The fields the vendor sends, as it writes them, are matched
		// against constants (a few loads each); field reads the rest.
		s.peek()
		switch rest := s.B[s.I:]; {
		case strings.HasPrefix(rest, `"userId":"`):
			s.I += len(`"userId":`)
			u.ID, uid = s.checkedStr(decimalEnd)
		case strings.HasPrefix(rest, `"email":"`):
			s.I += len(`"email":`)
			u.Email, email = s.checkedStr(emailEnd)
		case strings.HasPrefix(rest, `"userName":"`):
			s.I += len(`"userName":`)
			u.Name = s.Str()
		default:
			s.field(u, &uid, &email)
		}
		switch s.peek() {
		case ',':
			s.I++
		case '}':
			s.I++
			return (u.ID == "" || uid) && (u.Email == "" || email) && (uid || email)
		default:
			s.OK = false
		}
	}
	return false
}

// field reads any field of a user object into u: a name and a value as
// encoding/json would take them, or OK false. uid and email say whether
// u's uid and email were checked as they were read.
func (s *userScanner) field(u *vendors.LiveMember, uid, email *bool) {
	key := s.Str()
	s.Expect(':')
	if !s.OK {
		return
	}
	if s.peek() == '"' {
		v := s.Str()
		switch key {
		case "userId":
			u.ID, *uid = v, false
		case "email":
			u.Email, *email = v, false
		case "userName":
			u.Name = v
		default:
			s.unknown(key, userFields)
		}
		return
	}
	lit := s.Literal()
	switch {
	case s.peek() != ',' && s.peek() != '}':
		s.OK = false // more than a literal (Literal stops at white space)
	case lit == "null":
		// null leaves a field as it was; role is not kept.
		if !slices.Contains(userFields, key) {
			s.unknown(key, userFields)
		}
	case key == "userId" && isNumber(lit):
		u.ID, *uid = lit, false
	case key == "role" && isNumber(lit):
		if _, err := strconv.ParseInt(lit, 10, 64); err != nil {
			s.OK = false
		}
	case slices.Contains(userFields, key):
		s.OK = false // a type encoding/json refuses: its error
	default:
		s.unknown(key, userFields)
	}
}

// checkedStr reads a string that end finds whole, a uid (decimalEnd) or
// an email (emailEnd), checking it where it stands; for any other it
// reports false, having read the string as Str does. The bytes end accepts
// are plain ASCII, none a quote or a backslash.
func (s *userScanner) checkedStr(end func(string) int) (string, bool) {
	if s.peek() == '"' {
		start := s.I + 1
		if n := end(s.B[start:]); n > 0 && start+n < len(s.B) && s.B[start+n] == '"' {
			s.I = start + n + 1
			return s.B[start : start+n], true
		}
	}
	return s.Str(), false
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

package lunkr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"groupsync/internal/vendors"
)

// Vendor is the vendor name in errors, logs and metrics.
const Vendor = "lunkr"

// DefaultBaseURL is the vendor's API base.
const DefaultBaseURL = "https://api.lunkr.cn/api/"

// The vendor calls, as named in errors and by the simulator's counters.
const (
	CallInfo   = "groups/info"
	CallCreate = "groups/create"
	CallList   = "groups/list"
)

// Group types.
const (
	TypeTopic    = "topic"    // discussion
	TypePublic   = "public"   // public group
	TypeSysTopic = "sysTopic" // broadcast
)

// Codes of the envelope's code field. CodeInvalidToken is an assumption: the
// vendor's page documents no code for a refused token (see doc.go).
const (
	CodeOK            = "10000"
	CodeUnknownError  = "10001"
	CodeInvalidToken  = "10002"
	CodeNoPermission  = "10006"
	CodeRateLimited   = "10008" // "over the limit": refused, not made; retried like a 429
	CodeUserNotFound  = "20101"
	CodeBadGroupType  = "20102"
	CodeGroupNotFound = "20201"
)

// codeKinds maps a vendor code to the error kind callers branch on, with the
// description used when the vendor sends no message.
var codeKinds = map[string]struct {
	kind error
	desc string
}{
	CodeUnknownError:  {vendors.ErrVendor, "unknown error"},
	CodeInvalidToken:  {vendors.ErrUnauthorized, "access token invalid or expired"},
	CodeNoPermission:  {vendors.ErrNoPermission, "no permission"},
	CodeRateLimited:   {vendors.ErrRateLimited, "over the limit"},
	CodeUserNotFound:  {vendors.ErrBadRequest, "user not found"},
	CodeBadGroupType:  {vendors.ErrBadRequest, "bad group type"},
	CodeGroupNotFound: {vendors.ErrNotFound, "group not found"},
}

// codeError turns a vendor code other than CodeOK into a *vendors.Error. The
// vendor's own message wins; otherwise the code's description, followed by
// detail (what the call was about, e.g. the user or the group) when known.
func codeError(call, code, vendorMsg, detail string) *vendors.Error {
	kind, desc := vendors.ErrVendor, "unexpected code"
	if k, ok := codeKinds[code]; ok {
		kind, desc = k.kind, k.desc
	}
	msg := vendorMsg
	if msg == "" {
		msg = desc
		if detail != "" {
			msg += ": " + detail
		}
	}
	return &vendors.Error{Vendor: Vendor, Call: call, Kind: kind, Code: code, Message: msg}
}

// unreadable wraps vendors.ErrUnreadable with what was wrong.
func unreadable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", vendors.ErrUnreadable, fmt.Sprintf(format, args...))
}

// text is a JSON string that the vendor might also send as a number (codes,
// ids). null leaves it empty.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*t = text(n.String())
		return nil
	}
	return fmt.Errorf("want a string or a number, got %s", clip(string(b), 40))
}

// integer is a JSON integer that the vendor might also send as a string.
type integer int64

func (n *integer) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = integer(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<62 {
		return fmt.Errorf("want an integer, got %s", clip(s, 40))
	}
	*n = integer(f)
	return nil
}

// envelope is every answer's frame: {"code": "10000", "var": …}. The list
// call's documented example carries its payload under "data" instead. The
// page documents no message field; "msg" and "message" are read when present.
type envelope struct {
	Code    *text           `json:"code"`
	Var     json.RawMessage `json:"var"`
	Data    json.RawMessage `json:"data"`
	Msg     json.RawMessage `json:"msg"`
	Message json.RawMessage `json:"message"`
}

// openEnvelope checks the frame and returns the payload (var, else data; nil
// when neither is present), a *vendors.Error for a code other than CodeOK, or
// an error wrapping vendors.ErrUnreadable.
func openEnvelope(call string, body []byte, detail string) (json.RawMessage, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, unreadable("%v", err)
	}
	if env.Code == nil || *env.Code == "" {
		return nil, unreadable("answer has no code")
	}
	if code := string(*env.Code); code != CodeOK {
		return nil, codeError(call, code, firstString(env.Msg, env.Message), detail)
	}
	for _, p := range []json.RawMessage{env.Var, env.Data} {
		if len(p) > 0 && string(p) != "null" {
			return p, nil
		}
	}
	return nil, nil
}

// firstString returns the first of raws that is a non-empty JSON string,
// clipped to a readable length.
func firstString(raws ...json.RawMessage) string {
	for _, r := range raws {
		var s string
		if len(r) > 0 && json.Unmarshal(r, &s) == nil && s != "" {
			return clip(strings.TrimSpace(s), 200)
		}
	}
	return ""
}

// clip shortens s to at most n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// wireUser is a member, a subscriber or a group-list entry:
// {userId, email, userName[, role]}. The page leaves the shape of
// subscribers unsaid; a bare string (an email or a uid) is accepted too.
type wireUser struct {
	UserID   text     `json:"userId"`
	Email    string   `json:"email"`
	UserName string   `json:"userName"`
	Role     *integer `json:"role"`
}

func (u *wireUser) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if strings.Contains(s, "@") {
			*u = wireUser{Email: s}
		} else {
			*u = wireUser{UserID: text(s)}
		}
		return nil
	}
	type plain wireUser // no UnmarshalJSON: no recursion
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = wireUser(p)
	return nil
}

// check refuses a user whose uid or email has the wrong shape, or who has
// neither: it would be cached in the state and shown.
func (u wireUser) check() error { return checkUser(string(u.UserID), u.Email) }

// checkUser is wireUser.check on a user's uid and email, for the one-pass
// decoders.
func checkUser(uid, email string) error {
	switch {
	case uid == "" && email == "":
		return errors.New("neither userId nor email")
	case uid != "" && !IsUID(uid):
		return fmt.Errorf("userId %s is not a lunkr uid (a decimal number)", quoteID(uid))
	case email != "" && !IsEmail(email):
		return fmt.Errorf("email %s is not an email address", quoteID(email))
	}
	return nil
}

// quoteID shows an id the vendor sent, quoted and escaped (it may hold
// control characters) and cut to a readable length.
func quoteID(id string) string {
	if r := []rune(id); len(r) > 40 {
		return strconv.Quote(string(r[:40])) + "…"
	}
	return strconv.Quote(id)
}

func (u wireUser) member() vendors.LiveMember {
	return vendors.LiveMember{ID: string(u.UserID), Email: u.Email, Name: u.UserName}
}

// wireInfo is groups/info's var.
type wireInfo struct {
	GroupID     text        `json:"groupId"`
	GroupName   string      `json:"groupName"`
	GroupType   string      `json:"groupType"`
	CreateTime  integer     `json:"createTime"`
	MemberCount integer     `json:"memberCount"`
	Subscribers []wireUser  `json:"subscribers"`
	Members     *[]wireUser `json:"members"`
}

// createBody is groups/create's request: members and subscribers are
// comma-separated strings of emails or uids.
type createBody struct {
	Name        string `json:"name"`
	GroupType   string `json:"groupType"`
	Members     string `json:"members"`
	Subscribers string `json:"subscribers,omitempty"`
}

// wireCreated is groups/create's var.
type wireCreated struct {
	GroupID text `json:"groupId"`
}

// wireList is groups/list's var (or data).
type wireList struct {
	Topic    []wireUser `json:"topic"`
	Group    []wireUser `json:"group"`
	SysTopic []wireUser `json:"sysTopic"`
}

// decodeInfo decodes a groups/info answer about groupID.
func decodeInfo(body []byte, groupID string) (*vendors.Group, error) {
	if g, ok := scanInfoAnswer(body, groupID); ok {
		return g, nil
	}
	payload, err := openEnvelope(CallInfo, body, "group "+groupID)
	if err != nil {
		return nil, err
	}
	if payload == nil {
		return nil, unreadable("answer has no var")
	}
	if g, ok := scanInfo(payload, groupID); ok {
		return g, nil
	}
	return decodeInfoVar(payload, groupID)
}

// decodeInfoVar decodes groups/info's var with encoding/json: every shape
// the one-pass decoders leave, with its errors.
func decodeInfoVar(payload []byte, groupID string) (*vendors.Group, error) {
	var w wireInfo
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, unreadable("var: %v", err)
	}
	return w.group(groupID)
}

// group checks the var and makes the group about groupID of it.
func (w wireInfo) group(groupID string) (*vendors.Group, error) {
	if w.Members == nil {
		// A read without its member list must not pass for an empty group.
		return nil, unreadable("var has no members")
	}
	g := &vendors.Group{
		ID:         string(w.GroupID),
		Name:       w.GroupName,
		Type:       w.GroupType,
		CreateTime: int64(w.CreateTime),
		Members:    make([]vendors.LiveMember, 0, len(*w.Members)),
	}
	if g.ID == "" {
		g.ID = groupID
	}
	if !IsGroupID(g.ID) {
		return nil, unreadable("groupId %s is not a lunkr group id (a decimal number)", quoteID(g.ID))
	}
	for _, m := range *w.Members {
		if err := m.check(); err != nil {
			return nil, unreadable("member: %v", err)
		}
		g.Members = append(g.Members, m.member())
	}
	for _, s := range w.Subscribers {
		if err := s.check(); err != nil {
			return nil, unreadable("subscriber: %v", err)
		}
		g.Subscribers = append(g.Subscribers, s.member())
	}
	return g, nil
}

// decodeCreate decodes a groups/create answer; subject names the users sent
// (for a 20101 without a vendor message), empty when more than one.
func decodeCreate(body []byte, subject string) (string, error) {
	detail := "a member or subscriber"
	if subject != "" {
		detail = subject
	}
	payload, err := openEnvelope(CallCreate, body, detail)
	if err != nil {
		return "", err
	}
	if payload == nil {
		return "", unreadable("answer has no var")
	}
	var w wireCreated
	if err := json.Unmarshal(payload, &w); err != nil {
		return "", unreadable("var: %v", err)
	}
	if w.GroupID == "" {
		return "", unreadable("var has no groupId")
	}
	if !IsGroupID(string(w.GroupID)) {
		// Recorded, an id of the wrong shape would orphan the group made.
		return "", unreadable("groupId %s is not a lunkr group id (a decimal number)", quoteID(string(w.GroupID)))
	}
	return string(w.GroupID), nil
}

// decodeList decodes a groups/list answer about userID.
func decodeList(body []byte, userID string) ([]vendors.GroupRef, error) {
	payload, err := openEnvelope(CallList, body, userID)
	if err != nil {
		return nil, err
	}
	if payload == nil {
		return nil, unreadable("answer has neither var nor data")
	}
	var w wireList
	if err := json.Unmarshal(payload, &w); err != nil {
		return nil, unreadable("list: %v", err)
	}
	refs := make([]vendors.GroupRef, 0, len(w.Topic)+len(w.Group)+len(w.SysTopic))
	for _, part := range []struct {
		typ     string
		entries []wireUser
	}{{TypeTopic, w.Topic}, {TypePublic, w.Group}, {TypeSysTopic, w.SysTopic}} {
		for _, e := range part.entries {
			if e.UserID == "" {
				return nil, unreadable("%s entry has no userId", part.typ)
			}
			if !IsGroupID(string(e.UserID)) {
				// A recovery would bind it: only a group id of the right shape.
				return nil, unreadable("%s entry's userId %s is not a lunkr group id (a decimal number)", part.typ, quoteID(string(e.UserID)))
			}
			if e.Email != "" && !IsEmail(e.Email) {
				return nil, unreadable("%s entry's email %s is not an email address", part.typ, quoteID(e.Email))
			}
			ref := vendors.GroupRef{ID: string(e.UserID), Email: e.Email, Name: e.UserName, Type: part.typ}
			if e.Role != nil {
				ref.Role = int(*e.Role)
			}
			refs = append(refs, ref)
		}
	}
	return refs, nil
}

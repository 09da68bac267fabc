package wecom

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"groupsync/internal/vendors"
)

// Vendor is the vendor name in errors, logs and metrics.
const Vendor = "wecom"

// DefaultBaseURL is the vendor's API base.
const DefaultBaseURL = "https://qyapi.weixin.qq.com/cgi-bin/"

// The vendor calls, as named in errors and by the simulator's counters.
const (
	CallToken  = "gettoken"
	CallCreate = "appchat/create"
	CallUpdate = "appchat/update"
	CallGet    = "appchat/get"
)

// Limits the vendor publishes.
const (
	MaxNameLen     = 50   // characters; the vendor cuts a longer name
	MinMembers     = 2    // a chat's members, its owner included
	MaxMembers     = 2000 //
	MaxChatIDLen   = 32   // chatid: [0-9a-zA-Z]
	CreatesPerDay  = 1000 // chats created per enterprise per day
	ChangesPerHour = 1000 // appchat/update calls per enterprise per hour
	TokenLifetime  = 7200 // seconds, the access token's expires_in
)

// The errcode values. 0 is success. The pages document 40014, 42001,
// 45009, -1, 40001 and 60011; the chat codes (86xxx) are NOT published:
// CodeChatNotFound and CodeChatIDExists are assumptions (unconfirmed), and
// which codes mean "no such chat" is NotFoundCodes, never any unknown code.
const (
	CodeOK            = 0
	CodeBusy          = -1    // system busy: refused, retry later
	CodeBadSecret     = 40001 // invalid credential (the secret, or a token made from it)
	CodeInvalidToken  = 40014
	CodeTokenExpired  = 42001
	CodeRateLimited   = 45009 // call frequency over the limit: refused, retry later
	CodeNoPermission  = 60011
	CodeBadChatID     = 86001 // unconfirmed
	CodeChatNotFound  = 86003 // unconfirmed: see NotFoundCodes
	CodeBadOwner      = 86005 // unconfirmed
	CodeBadMembers    = 86006 // unconfirmed: member count out of 2–2,000
	CodeBadUser       = 86216 // unconfirmed: a userid that is not a member of the enterprise
	CodeChatIDExists  = 86215 // unconfirmed: a chat with the chatid exists
	CodeBadRequest    = 40058 // a required parameter is missing or malformed
	CodeLimitExceeded = 45033 // unconfirmed: daily create or hourly change limit reached
)

// NotFoundCodes are the errcodes of appchat/get that mean "no such chat"
// (vendors.ErrNotFound). The vendor does not publish one: the default is
// the simulator's assumption (86003). A code not listed is never taken to
// mean the chat is gone: it is a vendors.ErrVendor, and a lost create
// whose read answers it stays unresolved. Change it before making clients
// when the real code is learnt.
var NotFoundCodes = map[int]bool{CodeChatNotFound: true}

// codeKind classifies an errcode of call.
func codeKind(call string, code int) (kind error, desc string) {
	switch code {
	case CodeInvalidToken, CodeTokenExpired, CodeBadSecret:
		return vendors.ErrUnauthorized, "access token invalid or expired"
	case CodeRateLimited:
		return vendors.ErrRateLimited, "call frequency over the limit"
	case CodeBusy:
		return vendors.ErrTransient, "system busy"
	case CodeNoPermission:
		return vendors.ErrNoPermission, "no permission"
	case CodeBadChatID, CodeBadOwner, CodeBadMembers, CodeBadUser, CodeBadRequest:
		return vendors.ErrBadRequest, "request refused"
	case CodeLimitExceeded:
		// Not retried: the limit is per day (creates) or hour (changes).
		return vendors.ErrVendor, "daily create or hourly change limit reached: apply again later"
	}
	if call == CallGet && NotFoundCodes[code] {
		return vendors.ErrNotFound, "no such chat"
	}
	return vendors.ErrVendor, "unexpected errcode"
}

// codeError turns an errcode other than CodeOK into a *vendors.Error.
func codeError(call string, code int, vendorMsg, detail string) *vendors.Error {
	kind, desc := codeKind(call, code)
	msg := clip(strings.TrimSpace(vendorMsg), 200)
	if msg == "" || msg == "ok" {
		msg = desc
	}
	if detail != "" {
		msg += ": " + detail
	}
	if code == CodeNoPermission && call != CallToken {
		// The vendor's words do not say why; this is the likely cause.
		msg += " (only chats made by this app can be read or changed: a groupId pin adopts those alone)"
	}
	return &vendors.Error{Vendor: Vendor, Call: call, Kind: kind, Code: strconv.Itoa(code), Message: msg}
}

// unreadable wraps vendors.ErrUnreadable with what was wrong.
func unreadable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", vendors.ErrUnreadable, fmt.Sprintf(format, args...))
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

// quoteID shows an id the vendor sent, quoted, escaped and cut.
func quoteID(id string) string {
	if r := []rune(id); len(r) > 40 {
		return strconv.Quote(string(r[:40])) + "…"
	}
	return strconv.Quote(id)
}

// envelope is every answer's frame: {"errcode": 0, "errmsg": "ok", …}.
type envelope struct {
	ErrCode *json.Number `json:"errcode"`
	ErrMsg  string       `json:"errmsg"`
}

// openEnvelope checks the frame: nil for errcode 0, a *vendors.Error for
// another code, or an error wrapping vendors.ErrUnreadable.
func openEnvelope(call string, body []byte, detail string) error {
	var env envelope
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&env); err != nil {
		return unreadable("%v", err)
	}
	if env.ErrCode == nil {
		return unreadable("answer has no errcode")
	}
	code, err := strconv.Atoi(env.ErrCode.String())
	if err != nil {
		return unreadable("errcode %s is not an integer", clip(env.ErrCode.String(), 20))
	}
	if code != CodeOK {
		return codeError(call, code, env.ErrMsg, detail)
	}
	return nil
}

// createBody is appchat/create's request.
type createBody struct {
	Name     string   `json:"name,omitempty"`
	Owner    string   `json:"owner,omitempty"`
	UserList []string `json:"userlist"`
	ChatID   string   `json:"chatid,omitempty"`
}

// updateBody is appchat/update's request.
type updateBody struct {
	ChatID      string   `json:"chatid"`
	Name        string   `json:"name,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	AddUserList []string `json:"add_user_list,omitempty"`
	DelUserList []string `json:"del_user_list,omitempty"`
}

// wireCreated is appchat/create's answer beyond the envelope.
type wireCreated struct {
	ChatID string `json:"chatid"`
}

// wireGet is appchat/get's answer beyond the envelope.
type wireGet struct {
	ChatInfo *wireChat `json:"chat_info"`
}

type wireChat struct {
	ChatID   string    `json:"chatid"`
	Name     string    `json:"name"`
	Owner    string    `json:"owner"`
	UserList *[]string `json:"userlist"`
	ChatType int       `json:"chat_type"`
}

// decodeGet decodes an appchat/get answer about chatID.
func decodeGet(body []byte, chatID string) (*vendors.Group, error) {
	if err := openEnvelope(CallGet, body, "chat "+chatID); err != nil {
		return nil, err
	}
	var w wireGet
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, unreadable("%v", err)
	}
	if w.ChatInfo == nil {
		return nil, unreadable("answer has no chat_info")
	}
	c := w.ChatInfo
	if c.UserList == nil {
		// A read without its member list must not pass for an empty chat.
		return nil, unreadable("chat_info has no userlist")
	}
	if c.ChatID == "" {
		c.ChatID = chatID
	}
	if !IsChatID(c.ChatID) {
		return nil, unreadable("chatid %s is not a wecom chatid (1–32 of [0-9a-zA-Z])", quoteID(c.ChatID))
	}
	if c.ChatID != chatID {
		return nil, unreadable("asked for chat %s, answered chat %s", chatID, quoteID(c.ChatID))
	}
	if c.Owner != "" && !IsUserID(c.Owner) {
		return nil, unreadable("owner %s is not a wecom userid", quoteID(c.Owner))
	}
	g := &vendors.Group{ID: c.ChatID, Name: c.Name, Owner: c.Owner, Members: make([]vendors.LiveMember, 0, len(*c.UserList))}
	if c.Owner != "" {
		g.Managers = []string{c.Owner}
	}
	for _, u := range *c.UserList {
		if !IsUserID(u) {
			return nil, unreadable("member %s is not a wecom userid", quoteID(u))
		}
		g.Members = append(g.Members, vendors.LiveMember{ID: u})
	}
	return g, nil
}

// decodeCreate decodes an appchat/create answer; sent is the chatid the
// request carried ("" when the vendor chose).
func decodeCreate(body []byte, sent string) (string, error) {
	if err := openEnvelope(CallCreate, body, ""); err != nil {
		return "", err
	}
	var w wireCreated
	if err := json.Unmarshal(body, &w); err != nil {
		return "", unreadable("%v", err)
	}
	switch {
	case w.ChatID == "":
		return "", unreadable("answer has no chatid")
	case !IsChatID(w.ChatID):
		// Recorded, an id of the wrong shape would orphan the chat made.
		return "", unreadable("chatid %s is not a wecom chatid (1–32 of [0-9a-zA-Z])", quoteID(w.ChatID))
	case sent != "" && w.ChatID != sent:
		return "", unreadable("sent chatid %s, answered %s", sent, quoteID(w.ChatID))
	}
	return w.ChatID, nil
}

// decodeUpdate decodes an appchat/update answer.
func decodeUpdate(body []byte, chatID string) error {
	return openEnvelope(CallUpdate, body, "chat "+chatID)
}

// tokenAnswer is gettoken's answer.
type tokenAnswer struct {
	ErrCode     *json.Number `json:"errcode"`
	ErrMsg      string       `json:"errmsg"`
	AccessToken string       `json:"access_token,omitempty"`
	ExpiresIn   int64        `json:"expires_in,omitempty"`
}

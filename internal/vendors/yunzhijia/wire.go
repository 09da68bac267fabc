package yunzhijia

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"groupsync/internal/vendors"
)

// Vendor is the vendor name in errors, logs and metrics.
const Vendor = "yunzhijia"

// DefaultBaseURL is the vendor's gateway.
const DefaultBaseURL = "https://www.yunzhijia.com/gateway/"

// PathRateLimit is the default limit of calls per second to each group
// endpoint: the vendor publishes 1,500 calls a minute per API for a
// resGroupSecret token (25 a second).
const PathRateLimit = 25

// errorCode values. 0 and 200 are on the vendor's pages; the failure codes
// are assumed (see the package documentation) and shared by the client and
// the simulator.
const (
	CodeOK             = 0   // success of every call but merge
	CodeMergeOK        = 200 // success of merge, with error "no error"
	CodeBadParam       = 400
	CodeInvalidToken   = 401
	CodeNoPermission   = 403
	CodeGroupNotFound  = 404
	CodeGroupDismissed = 410
	CodeInternal       = 500 // the simulator's "lost" answer (HTTP 500)
)

// Call names, as in vendors.Error.Call and Simulator.Calls.
const (
	CallCreateGroup  = "createGroup"
	CallAddGroupUser = "addGroupUser"
	CallGroupUsers   = "groupUsers"
	CallDelGroupUser = "delGroupUser"
	CallGroupInfo    = "groupInfo"
	CallNotice       = "notice/create"
	CallBanner       = "banner/create"
	CallMerge        = "merge"
)

// Paths relative to the gateway base.
const (
	pathCreateGroup  = "xtinterface/group/createGroup"
	pathAddGroupUser = "xtinterface/group/addGroupUser"
	pathGroupUsers   = "xtinterface/group/groupUsers"
	pathDelGroupUser = "xtinterface/group/delGroupUser"
	pathGroupInfo    = "xtinterface/group/groupInfo"
	pathNotice       = "xtinterface/notice/create"
	pathBanner       = "xtinterface/banner/create"
	pathMerge        = "xtinterface/message/merge/createForCloudflow"
)

// Request bodies.

type createGroupRequest struct {
	CurrentUID string   `json:"currentUid"`
	GroupName  string   `json:"groupName,omitempty"`
	UserIDs    []string `json:"userIds"` // never null: the vendor requires the array
}

// addGroupUserRequest is the body of addGroupUser and delGroupUser.
type addGroupUserRequest struct {
	CurrentUID string   `json:"currentUid"`
	GroupID    string   `json:"groupId"`
	UserIDs    []string `json:"userIds"`
}

// groupRequest is the body of groupUsers, groupInfo and merge.
type groupRequest struct {
	CurrentUID string `json:"currentUid"`
	GroupID    string `json:"groupId"`
}

type noticeRequest struct {
	CurrentUID string `json:"currentUid"`
	GroupID    string `json:"groupId"`
	Title      string `json:"title"`
	Content    string `json:"content"`
}

type bannerRequest struct {
	CurrentUID string        `json:"currentUid"`
	GroupID    string        `json:"groupId"`
	Params     *bannerParams `json:"params"`
}

type bannerParams struct {
	Content        string `json:"content,omitempty"`
	Title          string `json:"title,omitempty"`
	LightAppID     string `json:"lightAppId,omitempty"`
	ThumbURL       string `json:"thumbUrl,omitempty"`
	WebpageURL     string `json:"webpageUrl,omitempty"`
	PrimaryContent string `json:"primaryContent,omitempty"`
	ContentURL     string `json:"contentUrl,omitempty"`
}

// Success data, as the simulator writes it. The client decodes only the
// fields it needs (see the *Answer types), so that an unexpected type in a
// field it ignores cannot turn a successful create into an unknown outcome.

type groupInfo struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	GroupType int    `json:"groupType"`
	Status    int    `json:"status"`
}

// delGroupUserData is delGroupUser's data.
type delGroupUserData struct {
	GroupID   string `json:"groupId"`
	GroupName string `json:"groupName"`
	GroupType int    `json:"groupType"`
}

type groupUsersData struct {
	ManagerIDs     []string `json:"managerIds"`
	ParticipantIDs []string `json:"participantIds"`
}

// groupInfoData is groupInfo's data: one entry, keyed by the group id.
type groupInfoData map[string]groupInfoEntry

type groupInfoEntry struct {
	GroupInfo groupInfoDetail `json:"groupInfo"`
	Notice    *currentNotice  `json:"notice"`
	Banner    json.RawMessage `json:"banner,omitempty"` // not used: its fields are not documented
}

// groupInfoDetail is groupInfo's groupInfo: groupType is 1 for a
// two-person chat, 2 for a group.
type groupInfoDetail struct {
	GroupName        string   `json:"groupName"`
	GroupType        int      `json:"groupType"`
	ManagerIDs       []string `json:"managerIds"`
	ParticipantCount int      `json:"participantCount"`
	GroupID          string   `json:"groupId"`
	HeaderURL        string   `json:"headerUrl"`
}

// currentNotice is groupInfo's notice: the group's latest one.
type currentNotice struct {
	SourceID   string       `json:"sourceId"`
	CreateTime int64        `json:"createTime"`
	PersonID   string       `json:"personId"`
	Params     noticeParams `json:"params"`
}

type noticeParams struct {
	Title   string `json:"title"`
	Content string `json:"content"`
}

// groupInfoAnswer is the part of groupInfo's data the client reads: the
// entry of the group asked for. The answer's other fields are ignored, so
// that an unexpected type in one (headerUrl, banner) cannot fail the read.
type groupInfoAnswer struct {
	groupID string // the group asked for; set before decoding
	entry   *groupInfoAnswerEntry
}

type groupInfoAnswerEntry struct {
	GroupInfo struct {
		GroupName        string   `json:"groupName"`
		ManagerIDs       []string `json:"managerIds"`
		ParticipantCount int      `json:"participantCount"`
	} `json:"groupInfo"`
	Notice *struct {
		Params struct {
			Title   string `json:"title"`
			Content string `json:"content"`
		} `json:"params"`
	} `json:"notice"`
}

// UnmarshalJSON picks the entry keyed by the group asked for.
func (a *groupInfoAnswer) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	raw, ok := m[a.groupID]
	if !ok || string(raw) == "null" {
		return nil // check refuses it
	}
	var e groupInfoAnswerEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return err
	}
	a.entry = &e
	return nil
}

type noticeInfo struct {
	NoticeID   string `json:"noticeId"`
	Creator    string `json:"creator"`
	Title      string `json:"title"`
	Content    string `json:"content"`
	CreateTime int64  `json:"createTime"`
}

type bannerInfo struct {
	BannerID string `json:"bannerId"`
}

type groupIDAnswer struct {
	GroupID string `json:"groupId"`
}

type noticeIDAnswer struct {
	NoticeID string `json:"noticeId"`
}

// mergeID is merge's data: a bare string.
type mergeID string

// envelope is an answer as the client reads it: loosely, since only
// success must be a boolean. Data holds a pointer to the caller's value,
// which the answer's data is decoded into in the same pass: a read of a few
// hundred members is then scanned twice (validation, decoding), not four
// times (the same for the answer, then for its data).
type envelope struct {
	Success   json.RawMessage `json:"success"` // a boolean, checked apart from data's type errors
	Data      any             `json:"data"`
	Error     json.RawMessage `json:"error"`
	ErrorCode json.RawMessage `json:"errorCode"`
}

// answer is an answer as the simulator writes it.
type answer struct {
	Success   bool    `json:"success"`
	Data      any     `json:"data"`
	Error     *string `json:"error"`
	ErrorCode int     `json:"errorCode"`
}

// answerNoError is groupUsers' success answer, which has no error key.
type answerNoError struct {
	Data      any  `json:"data"`
	Success   bool `json:"success"`
	ErrorCode int  `json:"errorCode"`
}

// decodeAnswer reads an answer of call. On success it unmarshals data into
// out (when out is non-nil); on failure it returns a *vendors.Error of the
// kind the errorCode maps to. An answer that is not an envelope, or whose
// data does not fit out, is an error wrapping vendors.ErrUnreadable.
func decodeAnswer(call string, body []byte, out any) error {
	if d, ok := out.(*groupUsersData); ok {
		// A read of every group of a plan: its common answer in one pass.
		if got, ok := scanGroupUsers(body); ok {
			if err := got.check(); err != nil {
				return fmt.Errorf("%w: data: %v", vendors.ErrUnreadable, err)
			}
			*d = got
			return nil
		}
	}
	env := envelope{Data: out}
	if out == nil {
		env.Data = new(struct{}) // skipped, whatever its shape
	}
	// A type error does not stop the decoder; with the other fields raw,
	// it is the data's, and matters only on success.
	err := json.Unmarshal(body, &env)
	var typeErr *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &typeErr) {
		return fmt.Errorf("%w: %v", vendors.ErrUnreadable, err)
	}
	var success *bool
	if len(env.Success) > 0 {
		if err := json.Unmarshal(env.Success, &success); err != nil {
			return fmt.Errorf("%w: success: %v", vendors.ErrUnreadable, err)
		}
	}
	if success == nil {
		return fmt.Errorf("%w: no success field", vendors.ErrUnreadable)
	}
	if !*success {
		return answerError(call, rawCode(env.ErrorCode), rawMessage(env.Error))
	}
	if out == nil {
		return nil
	}
	if env.Data == nil { // null
		return fmt.Errorf("%w: success without data", vendors.ErrUnreadable)
	}
	if err != nil {
		return fmt.Errorf("%w: data: %v", vendors.ErrUnreadable, err)
	}
	// Data left out of the answer leaves out as it was: empty, which its
	// check refuses.
	if c, ok := out.(checker); ok {
		if err := c.check(); err != nil {
			return fmt.Errorf("%w: data: %v", vendors.ErrUnreadable, err)
		}
	}
	return nil
}

// checker is data that can tell whether it holds what the call returns.
type checker interface{ check() error }

func (a *groupIDAnswer) check() error  { return isID("groupId", a.GroupID) }
func (a *noticeIDAnswer) check() error { return isID("noticeId", a.NoticeID) }
func (a *bannerInfo) check() error     { return isID("bannerId", a.BannerID) }
func (m *mergeID) check() error        { return isID("merge id", string(*m)) }

func (a *groupInfoAnswer) check() error {
	if a.entry == nil {
		return errors.New("no entry for group " + a.groupID)
	}
	for _, id := range a.entry.GroupInfo.ManagerIDs {
		if id != "" && !IsID(id) {
			return fmt.Errorf("manager id %s is not a yunzhijia id (24 hexadecimal digits)", quoteID(id))
		}
	}
	return nil
}

// check refuses a member list with an id of the wrong shape: it would be
// cached in the state and shown, and a write to it could only fail.
func (d *groupUsersData) check() error {
	if d.ParticipantIDs == nil {
		return errors.New("no participantIds")
	}
	for _, ids := range [][]string{d.ParticipantIDs, d.ManagerIDs} {
		for _, id := range ids {
			if id != "" && !IsID(id) {
				return fmt.Errorf("member id %s is not a yunzhijia id (24 hexadecimal digits)", quoteID(id))
			}
		}
	}
	return nil
}

// isID checks an id the vendor answered with: a create answered with an id
// of the wrong shape must not be recorded as made (the real group would be
// orphaned), so the answer counts as unreadable.
func isID(name, v string) error {
	switch {
	case v == "":
		return errors.New("no " + name)
	case !IsID(v):
		return fmt.Errorf("%s %s is not a yunzhijia id (24 hexadecimal digits)", name, quoteID(v))
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

// answerError maps a failure answer to a vendors.Error (see the package
// documentation for the table).
func answerError(call, code, msg string) *vendors.Error {
	return &vendors.Error{Vendor: Vendor, Call: call, Kind: kindOf(code, msg), Code: code, Message: msg}
}

func kindOf(code, msg string) error {
	switch code {
	case strconv.Itoa(CodeBadParam):
		return vendors.ErrBadRequest
	case strconv.Itoa(CodeInvalidToken):
		return vendors.ErrUnauthorized
	case strconv.Itoa(CodeNoPermission):
		return vendors.ErrNoPermission
	case strconv.Itoa(CodeGroupNotFound), strconv.Itoa(CodeGroupDismissed):
		return vendors.ErrNotFound
	}
	if tokenRefused(msg) {
		return vendors.ErrUnauthorized
	}
	return vendors.ErrVendor
}

// tokenRefused recognises a message about a bad token under a code this
// package does not know.
func tokenRefused(msg string) bool {
	m := strings.ToLower(msg)
	if !strings.Contains(m, "token") {
		return false
	}
	for _, w := range []string{"invalid", "expired", "illegal", "无效", "过期", "失效", "非法"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// rawCode renders errorCode, a number or a string, as text.
func rawCode(raw json.RawMessage) string {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return ""
}

// rawMessage renders error, a string or null, as text.
func rawMessage(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	if r := []rune(s); len(r) > maxMessage {
		s = string(r[:maxMessage]) + "…"
	}
	return s
}

// maxMessage bounds the vendor message kept in an error, in runes.
const maxMessage = 300

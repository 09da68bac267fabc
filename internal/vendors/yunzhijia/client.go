package yunzhijia

import (
	"context"
	"net/http"
	"net/url"

	"groupsync/internal/vendors"
)

// Client is the Yunzhijia group API. It is safe for concurrent use.
type Client struct {
	t *vendors.Transport
}

var _ vendors.Client = (*Client)(nil)

// New returns a client that calls through t. It sets t.Vendor to
// "yunzhijia", and fills an empty t.BaseURL with DefaultBaseURL (adding a
// missing final '/') and a nil t.HTTP with vendors.NewHTTPClient.
func New(t *vendors.Transport) *Client {
	t.Init(Vendor, DefaultBaseURL)
	return &Client{t: t}
}

// Capabilities is what Yunzhijia's API offers (see Client.Capabilities).
var Capabilities = vendors.Capabilities{AddMembers: true, RemoveMembers: true, GroupInfo: true, Notices: true, Banners: true, History: true}

// Capabilities: Yunzhijia adds and removes members, reads a group's name
// and current notice, and posts notices and banners, but cannot list groups.
func (c *Client) Capabilities() vendors.Capabilities { return Capabilities }

// ReadGroup reads a group with groupUsers as operator. Members are the
// participants (with any manager the answer left out of them); Name is
// empty, as the call does not return it.
func (c *Client) ReadGroup(ctx context.Context, groupID, operator string) (*vendors.Group, error) {
	if err := need(CallGroupUsers, "groupId", groupID, "currentUid", operator); err != nil {
		return nil, err
	}
	var d groupUsersData
	err := c.call(ctx, CallGroupUsers, pathGroupUsers, true, groupRequest{CurrentUID: operator, GroupID: groupID}, &d)
	if err != nil {
		return nil, err
	}
	g := &vendors.Group{ID: groupID, Managers: d.ManagerIDs, Members: make([]vendors.LiveMember, 0, len(d.ParticipantIDs))}
	seen := make(map[string]bool, len(d.ParticipantIDs))
	for _, id := range append(d.ParticipantIDs, d.ManagerIDs...) {
		if id != "" && !seen[id] {
			seen[id] = true
			g.Members = append(g.Members, vendors.LiveMember{ID: id})
		}
	}
	return g, nil
}

// CreateGroup creates a group with req.Operator as creator; the other
// members (req.Members without the operator, duplicates dropped) go in
// userIds. An empty Name lets the vendor name the group after its members.
func (c *Client) CreateGroup(ctx context.Context, req vendors.CreateRequest) (string, error) {
	if err := need(CallCreateGroup, "currentUid", req.Operator); err != nil {
		return "", err
	}
	body := createGroupRequest{CurrentUID: req.Operator, GroupName: req.Name, UserIDs: others(req.Members, req.Operator)}
	var d groupIDAnswer
	if err := c.call(ctx, CallCreateGroup, pathCreateGroup, false, body, &d); err != nil {
		return "", err
	}
	return d.GroupID, nil
}

// AddMembers adds ids to the group in one addGroupUser call; with no ids it
// makes no call.
func (c *Client) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	if err := need(CallAddGroupUser, "groupId", groupID, "currentUid", operator); err != nil {
		return err
	}
	ids = others(ids, "")
	if len(ids) == 0 {
		return nil
	}
	return c.call(ctx, CallAddGroupUser, pathAddGroupUser, true, addGroupUserRequest{CurrentUID: operator, GroupID: groupID, UserIDs: ids}, nil)
}

// RemoveMembers removes ids from the group in one delGroupUser call; with
// no ids it makes no call. Removing someone no longer in the group is a
// no-op, so the call is retried like addGroupUser.
func (c *Client) RemoveMembers(ctx context.Context, groupID, operator string, ids []string) error {
	if err := need(CallDelGroupUser, "groupId", groupID, "currentUid", operator); err != nil {
		return err
	}
	ids = others(ids, "")
	if len(ids) == 0 {
		return nil
	}
	return c.call(ctx, CallDelGroupUser, pathDelGroupUser, true, addGroupUserRequest{CurrentUID: operator, GroupID: groupID, UserIDs: ids}, nil)
}

// ReadGroupInfo reads the group's name, managers and current notice with
// groupInfo as operator. The answer is keyed by the group id; an answer
// without the entry of groupID is unreadable.
func (c *Client) ReadGroupInfo(ctx context.Context, groupID, operator string) (*vendors.GroupInfo, error) {
	if err := need(CallGroupInfo, "groupId", groupID, "currentUid", operator); err != nil {
		return nil, err
	}
	d := groupInfoAnswer{groupID: groupID}
	if err := c.call(ctx, CallGroupInfo, pathGroupInfo, true, groupRequest{CurrentUID: operator, GroupID: groupID}, &d); err != nil {
		return nil, err
	}
	e := d.entry
	info := &vendors.GroupInfo{ID: groupID, Name: e.GroupInfo.GroupName, Managers: e.GroupInfo.ManagerIDs, ParticipantCount: e.GroupInfo.ParticipantCount}
	if n := e.Notice; n != nil && (n.Params.Title != "" || n.Params.Content != "") {
		info.Notice = &vendors.Notice{Title: n.Params.Title, Content: n.Params.Content}
	}
	return info, nil
}

// PostNotice posts a notice and returns its noticeId.
func (c *Client) PostNotice(ctx context.Context, groupID, operator string, n vendors.Notice) (string, error) {
	if err := need(CallNotice, "groupId", groupID, "currentUid", operator); err != nil {
		return "", err
	}
	var d noticeIDAnswer
	body := noticeRequest{CurrentUID: operator, GroupID: groupID, Title: n.Title, Content: n.Content}
	if err := c.call(ctx, CallNotice, pathNotice, false, body, &d); err != nil {
		return "", err
	}
	return d.NoticeID, nil
}

// PostBanner posts a banner and returns its bannerId. Empty fields are left
// out of params.
func (c *Client) PostBanner(ctx context.Context, groupID, operator string, b vendors.Banner) (string, error) {
	if err := need(CallBanner, "groupId", groupID, "currentUid", operator); err != nil {
		return "", err
	}
	p := bannerParams(b)
	var d bannerInfo
	if err := c.call(ctx, CallBanner, pathBanner, false, bannerRequest{CurrentUID: operator, GroupID: groupID, Params: &p}, &d); err != nil {
		return "", err
	}
	return d.BannerID, nil
}

// ListGroups is not offered by Yunzhijia: ErrUnsupported, no network call.
func (c *Client) ListGroups(ctx context.Context, userID string) ([]vendors.GroupRef, error) {
	return nil, &vendors.Error{Vendor: Vendor, Call: "listGroups", Kind: vendors.ErrUnsupported}
}

// MergeHistory merges the group's message history (createForCloudflow) and
// returns the merge id to put in HistoryURL. A repeat only makes another
// link to the same history, so the call is retried like a read.
func (c *Client) MergeHistory(ctx context.Context, groupID, operator string) (string, error) {
	if err := need(CallMerge, "groupId", groupID, "currentUid", operator); err != nil {
		return "", err
	}
	var mid mergeID
	if err := c.call(ctx, CallMerge, pathMerge, true, groupRequest{CurrentUID: operator, GroupID: groupID}, &mid); err != nil {
		return "", err
	}
	return string(mid), nil
}

// HistoryURL is the page that shows a merged history:
// https://<host of endpoint>/imbu/chat/history.html?mid=<mergeID>&eid=<workspace>.
// An empty or unparsable endpoint means the vendor's own host; eid is left
// out when workspace is empty.
func HistoryURL(endpoint, mergeID, workspace string) string {
	host := "www.yunzhijia.com"
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = u.Host
	}
	s := "https://" + host + "/imbu/chat/history.html?mid=" + url.QueryEscape(mergeID)
	if workspace != "" {
		s += "&eid=" + url.QueryEscape(workspace)
	}
	return s
}

func (c *Client) call(ctx context.Context, name, path string, safe bool, body, out any) error {
	call := vendors.Call{Name: name, Method: http.MethodPost, Path: path, Body: body, Safe: safe}
	return c.t.Do(ctx, call, func(b []byte) error { return decodeAnswer(name, b, out) })
}

// others returns ids without drop, empty strings and duplicates, in order,
// never nil.
func others(ids []string, drop string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || id == drop || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// need checks that the named arguments (name, value pairs) are not empty.
func need(call string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return &vendors.Error{Vendor: Vendor, Call: call, Kind: vendors.ErrBadRequest, Message: "empty " + pairs[i]}
		}
	}
	return nil
}

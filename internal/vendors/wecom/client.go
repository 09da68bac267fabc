package wecom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"groupsync/internal/vendors"
)

// Client is the WeCom appchat client. It is safe for concurrent use.
type Client struct {
	t *vendors.Transport
}

var (
	_ vendors.Updater   = (*Client)(nil)
	_ vendors.IDChooser = (*Client)(nil)
)

// New returns a client making its calls through t. It sets t.Vendor to
// "wecom", defaults t.BaseURL to DefaultBaseURL and t.HTTP to a client
// with a 30s timeout, and passes the token as access_token. t.Token must be
// set.
func New(t *vendors.Transport) *Client {
	t.Init(Vendor, DefaultBaseURL)
	t.TokenParam = "access_token"
	return &Client{t: t}
}

// Capabilities is what WeCom's appchat API offers: one appchat/update adds,
// removes, renames and changes the owner, and the client chooses a chat's
// id at create time. It has no notices, banners, group lists or history.
var Capabilities = vendors.Capabilities{
	AddMembers:    true,
	RemoveMembers: true,
	Rename:        true,
	ChangeOwner:   true,
	ChosenID:      true,
	OneUpdate:     true,
}

// Capabilities returns Capabilities.
func (c *Client) Capabilities() vendors.Capabilities { return Capabilities }

// NewGroupID returns a fresh random chatid (NewChatID).
func (c *Client) NewGroupID() (string, error) { return NewChatID() }

// ReadGroup reads a chat with appchat/get (retried: a read). operator is
// ignored. ErrNotFound only for a code of NotFoundCodes; a chat made by
// another app (or a person) is ErrNoPermission.
func (c *Client) ReadGroup(ctx context.Context, groupID, operator string) (*vendors.Group, error) {
	if !IsChatID(groupID) {
		return nil, badRequest(CallGet, fmt.Sprintf("chatid %s is not 1–32 of [0-9a-zA-Z]", quoteID(groupID)))
	}
	var g *vendors.Group
	err := c.do(ctx, vendors.Call{
		Name:   CallGet,
		Method: http.MethodGet,
		Path:   CallGet,
		Query:  url.Values{"chatid": {groupID}},
		Safe:   true,
	}, func(body []byte) (err error) {
		g, err = decodeGet(body, groupID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// CreateGroup creates a chat with appchat/create. req.ID is the chatid
// groupsync chose ("" lets the vendor choose); the owner is req.Owner,
// else req.Operator, else the vendor's pick; the userlist is the members
// with the owner. A create refused because its chatid exists is an unknown
// outcome: an earlier send of the same create landed, and a read settles it.
func (c *Client) CreateGroup(ctx context.Context, req vendors.CreateRequest) (string, error) {
	owner := req.Owner
	if owner == "" {
		owner = req.Operator
	}
	body := createBody{Name: req.Name, Owner: owner, ChatID: req.ID}
	if req.ID != "" && !IsChatID(req.ID) {
		return "", badRequest(CallCreate, fmt.Sprintf("chatid %s is not 1–32 of [0-9a-zA-Z]", quoteID(req.ID)))
	}
	for _, id := range req.Members {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(body.UserList, id) {
			body.UserList = append(body.UserList, id)
		}
	}
	if owner != "" && !slices.Contains(body.UserList, owner) {
		body.UserList = append([]string{owner}, body.UserList...)
	}
	switch {
	case len(body.UserList) < MinMembers || len(body.UserList) > MaxMembers:
		return "", badRequest(CallCreate, fmt.Sprintf("%d members: a chat has %d to %d, its owner included", len(body.UserList), MinMembers, MaxMembers))
	case len(req.Subscribers) > 0:
		return "", badRequest(CallCreate, "wecom chats have no subscribers")
	}
	for _, id := range body.UserList {
		if !IsUserID(id) {
			return "", badRequest(CallCreate, fmt.Sprintf("member %s is not a wecom userid", quoteID(id)))
		}
	}
	var id string
	err := c.do(ctx, vendors.Call{
		Name:   CallCreate,
		Method: http.MethodPost,
		Path:   CallCreate,
		Body:   body,
	}, func(b []byte) (err error) {
		id, err = decodeCreate(b, req.ID)
		return err
	})
	var ve *vendors.Error
	if errors.As(err, &ve) && ve.Code == fmt.Sprint(CodeChatIDExists) && req.ID != "" {
		ve.Kind = vendors.ErrUnknownOutcome
		ve.Message += ": an earlier send of this create may have made it; a read of the chatid settles it"
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// UpdateGroup sends every change of a chat as one appchat/update (retried:
// each of its changes is idempotent).
func (c *Client) UpdateGroup(ctx context.Context, groupID, operator string, u vendors.GroupUpdate) error {
	if !IsChatID(groupID) {
		return badRequest(CallUpdate, fmt.Sprintf("chatid %s is not 1–32 of [0-9a-zA-Z]", quoteID(groupID)))
	}
	if u.Name == "" && u.Owner == "" && len(u.Add) == 0 && len(u.Remove) == 0 {
		return nil
	}
	for _, id := range slices.Concat(u.Add, u.Remove, []string{u.Owner}) {
		if id != "" && !IsUserID(id) {
			return badRequest(CallUpdate, fmt.Sprintf("member %s is not a wecom userid", quoteID(id)))
		}
	}
	return c.do(ctx, vendors.Call{
		Name:   CallUpdate,
		Method: http.MethodPost,
		Path:   CallUpdate,
		Body:   updateBody{ChatID: groupID, Name: u.Name, Owner: u.Owner, AddUserList: u.Add, DelUserList: u.Remove},
		Safe:   true,
	}, func(b []byte) error { return decodeUpdate(b, groupID) })
}

// AddMembers adds ids with one appchat/update.
func (c *Client) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	return c.UpdateGroup(ctx, groupID, operator, vendors.GroupUpdate{Add: ids})
}

// RemoveMembers removes ids with one appchat/update.
func (c *Client) RemoveMembers(ctx context.Context, groupID, operator string, ids []string) error {
	return c.UpdateGroup(ctx, groupID, operator, vendors.GroupUpdate{Remove: ids})
}

// ReadGroupInfo is not needed (appchat/get has the name): ErrUnsupported.
func (c *Client) ReadGroupInfo(ctx context.Context, groupID, operator string) (*vendors.GroupInfo, error) {
	return nil, unsupported("group info")
}

// PostNotice is not offered by WeCom chats: ErrUnsupported, no call.
func (c *Client) PostNotice(ctx context.Context, groupID, operator string, n vendors.Notice) (string, error) {
	return "", unsupported("post notice")
}

// PostBanner is not offered by WeCom chats: ErrUnsupported, no call.
func (c *Client) PostBanner(ctx context.Context, groupID, operator string, b vendors.Banner) (string, error) {
	return "", unsupported("post banner")
}

// ListGroups is not offered (and not needed: a lost create is read by its
// chatid): ErrUnsupported, no call.
func (c *Client) ListGroups(ctx context.Context, userID string) ([]vendors.GroupRef, error) {
	return nil, unsupported("list groups")
}

func (c *Client) do(ctx context.Context, call vendors.Call, decode func([]byte) error) error {
	if c.t.Token == nil {
		return &vendors.Error{Vendor: Vendor, Call: call.Name, Kind: vendors.ErrUnauthorized, Message: "no access token configured"}
	}
	return c.t.Do(ctx, call, decode)
}

func badRequest(call, msg string) error {
	return &vendors.Error{Vendor: Vendor, Call: call, Kind: vendors.ErrBadRequest, Message: msg}
}

func unsupported(call string) error {
	return &vendors.Error{Vendor: Vendor, Call: call, Kind: vendors.ErrUnsupported}
}

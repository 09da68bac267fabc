package lunkr

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"groupsync/internal/vendors"
)

// Client is the Lunkr group API client. It is safe for concurrent use.
type Client struct {
	t *vendors.Transport
}

var _ vendors.Client = (*Client)(nil)

// New returns a client making its calls through t. It sets t.Vendor to
// "lunkr", defaults t.BaseURL to DefaultBaseURL (adding a final '/' when
// missing) and t.HTTP to a client with a 30s timeout. t.Token must be set.
func New(t *vendors.Transport) *Client {
	t.Init(Vendor, DefaultBaseURL)
	return &Client{t: t}
}

// Capabilities is what Lunkr's API offers (see Client.Capabilities).
var Capabilities = vendors.Capabilities{ListGroups: true}

// Capabilities: Lunkr lists a user's groups and offers nothing else beyond
// reading and creating groups: no adding or removing members, and no read
// beyond groups/info (which has the name already).
func (c *Client) Capabilities() vendors.Capabilities { return Capabilities }

// ReadGroup reads a group with groups/info (retried: it is a read). operator
// is ignored. ErrNotFound is code 20201.
func (c *Client) ReadGroup(ctx context.Context, groupID, operator string) (*vendors.Group, error) {
	if strings.TrimSpace(groupID) == "" {
		return nil, badRequest(CallInfo, "empty group id")
	}
	var g *vendors.Group
	err := c.do(ctx, vendors.Call{
		Name:   CallInfo,
		Method: http.MethodGet,
		Path:   CallInfo,
		Query:  url.Values{"groupId": {groupID}},
		Safe:   true,
	}, func(body []byte) (err error) {
		g, err = decodeInfo(body, groupID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// CreateGroup creates a group with groups/create. req.Type empty means
// topic; subscribers are for sysTopic only. The transport retries it only
// when the request provably was not made (429, 503, not sent); any other
// failure after sending is ErrUnknownOutcome.
func (c *Client) CreateGroup(ctx context.Context, req vendors.CreateRequest) (string, error) {
	body, err := createRequestBody(req)
	if err != nil {
		return "", err
	}
	subject := ""
	if all := append(append([]string{}, req.Members...), req.Subscribers...); len(all) == 1 {
		subject = all[0]
	}
	var id string
	err = c.do(ctx, vendors.Call{
		Name:   CallCreate,
		Method: http.MethodPost,
		Path:   CallCreate,
		Body:   body,
	}, func(b []byte) (err error) {
		id, err = decodeCreate(b, subject)
		return err
	})
	var ve *vendors.Error
	if errors.As(err, &ve) && ve.Code == CodeUnknownError {
		// "Unknown error" does not prove the group was not made: the create
		// is treated as lost, and the next plan looks for it (groups/list).
		ve.Kind = vendors.ErrUnknownOutcome
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// createRequestBody checks req and encodes it the vendor's way. It refuses
// what the vendor would (no name, no member) and what the comma-separated
// encoding cannot carry (an id containing a comma).
func createRequestBody(req vendors.CreateRequest) (*createBody, error) {
	typ := req.Type
	if typ == "" {
		typ = TypeTopic
	}
	if strings.TrimSpace(req.Name) == "" {
		return nil, badRequest(CallCreate, "group name is empty")
	}
	if len(req.Members) == 0 {
		return nil, badRequest(CallCreate, "no members")
	}
	if len(req.Subscribers) > 0 && typ != TypeSysTopic {
		return nil, badRequest(CallCreate, "subscribers are for sysTopic groups only")
	}
	members, err := joinIDs(req.Members)
	if err != nil {
		return nil, err
	}
	subscribers, err := joinIDs(req.Subscribers)
	if err != nil {
		return nil, err
	}
	return &createBody{Name: req.Name, GroupType: typ, Members: members, Subscribers: subscribers}, nil
}

func joinIDs(ids []string) (string, error) {
	clean := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
			return "", badRequest(CallCreate, "empty member id")
		case strings.Contains(id, ","):
			return "", badRequest(CallCreate, "member id "+id+" contains a comma")
		}
		clean = append(clean, id)
	}
	return strings.Join(clean, ","), nil
}

// ListGroups lists the groups userID (an email or a uid) belongs to with
// groups/list (retried: it is a read). Entries of the answer's "group" array
// have Type "public"; sysTopic entries carry Role (0 administrator, 1
// subscriber).
func (c *Client) ListGroups(ctx context.Context, userID string) ([]vendors.GroupRef, error) {
	if strings.TrimSpace(userID) == "" {
		return nil, badRequest(CallList, "empty user id")
	}
	var refs []vendors.GroupRef
	err := c.do(ctx, vendors.Call{
		Name:   CallList,
		Method: http.MethodGet,
		Path:   CallList,
		Query:  url.Values{"userId": {userID}},
		Safe:   true,
	}, func(body []byte) (err error) {
		refs, err = decodeList(body, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return refs, nil
}

// AddMembers is not offered by Lunkr: ErrUnsupported, no network call.
func (c *Client) AddMembers(ctx context.Context, groupID, operator string, ids []string) error {
	return unsupported("add members")
}

// RemoveMembers is not offered by Lunkr: ErrUnsupported, no network call.
func (c *Client) RemoveMembers(ctx context.Context, groupID, operator string, ids []string) error {
	return unsupported("remove members")
}

// ReadGroupInfo is not offered by Lunkr (ReadGroup already has the name):
// ErrUnsupported, no network call.
func (c *Client) ReadGroupInfo(ctx context.Context, groupID, operator string) (*vendors.GroupInfo, error) {
	return nil, unsupported("group info")
}

// PostNotice is not offered by Lunkr: ErrUnsupported, no network call.
func (c *Client) PostNotice(ctx context.Context, groupID, operator string, n vendors.Notice) (string, error) {
	return "", unsupported("post notice")
}

// PostBanner is not offered by Lunkr: ErrUnsupported, no network call.
func (c *Client) PostBanner(ctx context.Context, groupID, operator string, b vendors.Banner) (string, error) {
	return "", unsupported("post banner")
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

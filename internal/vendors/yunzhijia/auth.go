package yunzhijia

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"groupsync/internal/vendors"
)

// Auth gets tokens of scope resGroupSecret (the group APIs' scope) with the
// workspace's eid and its IM secret (管理中心 > 系统设置 > 系统集成 > 资源授权),
// from <endpoint>oauth2/token/getAccessToken, and renews them with the
// answer's refreshToken at <endpoint>oauth2/token/refreshToken.
var Auth = vendors.Auth{
	Fields: []vendors.AuthField{{Name: "eid"}, {Name: "secret", Secret: true}},
	Fetch:  fetchToken,
}

// TokenScope is the scope of the group APIs' tokens.
const TokenScope = "resGroupSecret"

// Token calls, as counted by the simulator.
const (
	CallGetToken     = "getAccessToken"
	CallRefreshToken = "refreshToken"
)

const (
	pathGetToken     = "oauth2/token/getAccessToken"
	pathRefreshToken = "oauth2/token/refreshToken"
)

// TimestampWindow is how far a token request's timestamp may be from the
// vendor's clock (about 3 minutes, per the vendor's page).
const TimestampWindow = 3 * time.Minute

type tokenRequest struct {
	EID          string `json:"eid"`
	Secret       string `json:"secret,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
	Timestamp    int64  `json:"timestamp"` // milliseconds since the epoch
	Scope        string `json:"scope"`
}

type tokenData struct {
	AccessToken  string `json:"accessToken"`
	ExpireIn     int64  `json:"expireIn"` // seconds
	RefreshToken string `json:"refreshToken"`
}

func (d *tokenData) check() error {
	if d.AccessToken == "" {
		return errors.New("no accessToken")
	}
	return nil
}

// fetchToken renews with the previous grant's refresh token when there is
// one, and otherwise (or when that fails) asks with the secret.
func fetchToken(ctx context.Context, r vendors.FetchRequest) (vendors.Grant, error) {
	eid := r.Credentials["eid"]
	if p := r.Previous; p != nil && p.Refresh != "" {
		req := tokenRequest{EID: eid, RefreshToken: p.Refresh, Timestamp: r.Now.UnixMilli(), Scope: TokenScope}
		if g, err := postToken(ctx, r, CallRefreshToken, pathRefreshToken, req); err == nil {
			return g, nil
		}
	}
	req := tokenRequest{EID: eid, Secret: r.Credentials["secret"], Timestamp: r.Now.UnixMilli(), Scope: TokenScope}
	return postToken(ctx, r, CallGetToken, pathGetToken, req)
}

func postToken(ctx context.Context, r vendors.FetchRequest, call, path string, body tokenRequest) (vendors.Grant, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return vendors.Grant{}, err
	}
	u := r.Endpoint + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return vendors.Grant{}, fmt.Errorf("%w: %s: bad endpoint", vendors.ErrVendor, call)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		// *url.Error repeats the URL; the cause alone says enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return vendors.Grant{}, fmt.Errorf("%w: %s at %s unreachable: %v", vendors.ErrTransient, call, hostOf(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return vendors.Grant{}, fmt.Errorf("%w: %s: reading the answer: %v", vendors.ErrTransient, call, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return vendors.Grant{}, fmt.Errorf("%w: %s answered HTTP %d", vendors.ErrTransient, call, resp.StatusCode)
	}
	var d tokenData
	err = decodeAnswer(call, data, &d)
	var ve *vendors.Error
	switch {
	case errors.As(err, &ve):
		return vendors.Grant{}, refusal(call, ve, r.Now, resp.Header.Get("Date"))
	case err != nil:
		return vendors.Grant{}, fmt.Errorf("%w: %s (HTTP %d): %v", vendors.ErrVendor, call, resp.StatusCode, err)
	}
	return vendors.Grant{Token: d.AccessToken, Lifetime: time.Duration(d.ExpireIn) * time.Second, Refresh: d.RefreshToken}, nil
}

// refusal names the likely cause of a refused token request. The vendor's
// codes for it are not published: a message about the timestamp, or a clock
// far from the vendor's Date header, is clock skew; a bad parameter is a
// request this package got wrong; anything else is taken as a wrong eid or
// secret.
func refusal(call string, ve *vendors.Error, now time.Time, date string) error {
	what := fmt.Sprintf("%s refused (errorCode %s: %s)", call, ve.Code, ve.Message)
	if at, err := http.ParseTime(date); err == nil {
		if off := now.Sub(at); off > TimestampWindow || off < -TimestampWindow {
			return fmt.Errorf("%w: %s: this host's clock is %s off the vendor's, and the timestamp is accepted within %s",
				vendors.ErrClockSkew, what, off.Round(time.Second), TimestampWindow)
		}
	}
	m := strings.ToLower(ve.Message)
	switch {
	case strings.Contains(m, "timestamp") || strings.Contains(m, "时间"):
		return fmt.Errorf("%w: %s", vendors.ErrClockSkew, what)
	case ve.Code == strconv.Itoa(CodeBadParam):
		return fmt.Errorf("%w: %s", vendors.ErrVendor, what)
	}
	return fmt.Errorf("%w: %s", vendors.ErrBadCredentials, what)
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return "the endpoint"
}

package wecom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"groupsync/internal/vendors"
)

// Auth gets tokens with the enterprise's corpId and the app's corpSecret:
// GET <endpoint>gettoken?corpid=&corpsecret=, answered {errcode, errmsg,
// access_token, expires_in}. WeCom issues no refresh token.
var Auth = vendors.Auth{
	Fields: []vendors.AuthField{{Name: "corpId"}, {Name: "corpSecret", Secret: true}},
	Fetch:  fetchToken,
}

func fetchToken(ctx context.Context, r vendors.FetchRequest) (vendors.Grant, error) {
	q := url.Values{"corpid": {r.Credentials["corpId"]}, "corpsecret": {r.Credentials["corpSecret"]}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Endpoint+CallToken+"?"+q.Encode(), nil)
	if err != nil {
		return vendors.Grant{}, fmt.Errorf("%w: %s: bad endpoint", vendors.ErrVendor, CallToken)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		// *url.Error repeats the URL, whose query holds the secret.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return vendors.Grant{}, fmt.Errorf("%w: %s at %s unreachable: %v", vendors.ErrTransient, CallToken, req.URL.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return vendors.Grant{}, fmt.Errorf("%w: %s: reading the answer: %v", vendors.ErrTransient, CallToken, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return vendors.Grant{}, fmt.Errorf("%w: %s answered HTTP %d", vendors.ErrTransient, CallToken, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return vendors.Grant{}, fmt.Errorf("%w: %s answered HTTP %d", vendors.ErrVendor, CallToken, resp.StatusCode)
	}
	var a tokenAnswer
	if err := json.Unmarshal(data, &a); err != nil || a.ErrCode == nil {
		return vendors.Grant{}, fmt.Errorf("%w: %s: %v", vendors.ErrVendor, CallToken, unreadable("no errcode in the answer"))
	}
	code, err := strconv.Atoi(a.ErrCode.String())
	switch {
	case err != nil:
		return vendors.Grant{}, fmt.Errorf("%w: %s: %v", vendors.ErrVendor, CallToken, unreadable("errcode is not an integer"))
	case code == CodeBadSecret || code == 40013 || code == 40091:
		// 40013 invalid corpid, 40091 secret invalid (the access-token page).
		return vendors.Grant{}, fmt.Errorf("%w: %s refused (errcode %d, %s)", vendors.ErrBadCredentials, CallToken, code, clip(a.ErrMsg, 200))
	case code == CodeBusy || code == CodeRateLimited:
		return vendors.Grant{}, fmt.Errorf("%w: %s: errcode %d, %s", vendors.ErrTransient, CallToken, code, clip(a.ErrMsg, 200))
	case code != CodeOK:
		return vendors.Grant{}, fmt.Errorf("%w: %s: errcode %d, %s", vendors.ErrVendor, CallToken, code, clip(a.ErrMsg, 200))
	case a.AccessToken == "":
		return vendors.Grant{}, fmt.Errorf("%w: %s: %v", vendors.ErrVendor, CallToken, unreadable("no access_token in the answer"))
	}
	return vendors.Grant{Token: a.AccessToken, Lifetime: time.Duration(a.ExpiresIn) * time.Second}, nil
}

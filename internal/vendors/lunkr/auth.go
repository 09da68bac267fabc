package lunkr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"groupsync/internal/vendors"
)

// Auth gets tokens with the client-credentials grant: the app's clientId
// and clientSecret (the admin console's application centre) at
// <origin of endpoint>/oauth/accessToken. Lunkr issues no refresh token: a
// token is renewed by asking again.
var Auth = vendors.Auth{
	Fields: []vendors.AuthField{{Name: "clientId"}, {Name: "clientSecret", Secret: true}},
	Fetch:  fetchToken,
}

// CallToken is the token call, as counted by the simulator.
const CallToken = "oauth/accessToken"

// tokenAnswer is the token endpoint's plain JSON answer (no code envelope).
// error and error_description are the OAuth error fields, which the
// simulator sends on a refusal (the vendor's page shows no error answer:
// unconfirmed).
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"` // seconds
	Scope            string `json:"scope"`
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// TokenURL is the token endpoint of a provider whose endpoint is endpoint:
// its origin (scheme and host) and /oauth/accessToken.
func TokenURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%w: endpoint has no origin", vendors.ErrVendor)
	}
	return u.Scheme + "://" + u.Host + "/" + CallToken, nil
}

func fetchToken(ctx context.Context, r vendors.FetchRequest) (vendors.Grant, error) {
	base, err := TokenURL(r.Endpoint)
	if err != nil {
		return vendors.Grant{}, err
	}
	q := url.Values{"client_id": {r.Credentials["clientId"]}, "client_secret": {r.Credentials["clientSecret"]}, "grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"?"+q.Encode(), nil)
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
	var a tokenAnswer
	jerr := json.Unmarshal(data, &a)
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden || a.Error != "":
		why := clip(a.Error+": "+a.ErrorDescription, 200)
		if a.Error == "" {
			why = clip(string(data), 200)
		}
		return vendors.Grant{}, fmt.Errorf("%w: %s refused (HTTP %d, %s)", vendors.ErrBadCredentials, CallToken, resp.StatusCode, why)
	case resp.StatusCode != http.StatusOK:
		return vendors.Grant{}, fmt.Errorf("%w: %s answered HTTP %d", vendors.ErrVendor, CallToken, resp.StatusCode)
	case jerr != nil || a.AccessToken == "":
		return vendors.Grant{}, fmt.Errorf("%w: %s: %v", vendors.ErrVendor, CallToken, unreadable("no access_token in the answer"))
	}
	return vendors.Grant{Token: a.AccessToken, Lifetime: time.Duration(a.ExpiresIn) * time.Second}, nil
}

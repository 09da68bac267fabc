package vendors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// AuthField is one field of a vendor's manifest `auth:` block: an id, which
// may be written literally, or a secret, which must be an ${ENV} reference.
type AuthField struct {
	Name   string
	Secret bool
}

// Credentials are the values of a provider's `auth:` block by field name,
// secrets resolved from the environment.
type Credentials map[string]string

// Grant is an access token a vendor's token endpoint issued.
type Grant struct {
	Token string
	// Lifetime is how long the token lives from when it was asked for (the
	// vendor's expireIn or expires_in); 0 means the vendor did not say.
	Lifetime time.Duration
	// Refresh is a refresh token, when the vendor issues one (Yunzhijia).
	Refresh string
}

// FetchRequest is what an Auth's Fetch is given.
type FetchRequest struct {
	HTTP        *http.Client
	Endpoint    string // the provider's endpoint (the group API base, ending in '/')
	Credentials Credentials
	Now         time.Time // the clock to sign a request with (Yunzhijia's timestamp)
	// Previous is the grant being renewed before it expires; nil for a first
	// fetch and after the vendor refused a token (then a new one is needed,
	// whatever Previous could renew).
	Previous *Grant
}

// Auth is how one vendor turns an app's credentials into an access token:
// the fields its `auth:` block takes and the call to its token endpoint. A
// vendor package declares one (yunzhijia.Auth, lunkr.Auth); the generic
// caching, sharing and renewal is AuthToken's.
type Auth struct {
	Fields []AuthField
	// Fetch asks the vendor for a token. Its error wraps one of
	// ErrBadCredentials, ErrClockSkew, ErrTransient (unreachable) or
	// ErrVendor, and never contains a secret or a token.
	Fetch func(ctx context.Context, r FetchRequest) (Grant, error)
}

// Secrets returns the names of the secret fields.
func (a Auth) Secrets() []string {
	var out []string
	for _, f := range a.Fields {
		if f.Secret {
			out = append(out, f.Name)
		}
	}
	return out
}

// Causes of a failed token fetch, for errors.Is.
var (
	// ErrBadCredentials: the token endpoint refused the id or the secret.
	ErrBadCredentials = errors.New("credentials refused")
	// ErrClockSkew: the request was refused for its timestamp: this host's
	// clock is off (Yunzhijia accepts about 3 minutes).
	ErrClockSkew = errors.New("clock skew")
)

// TokenError is a provider's failure to get an access token. One is made
// per failed fetch, and handed to every caller until the source is Reset:
// a provider's groups share one error, not one each.
type TokenError struct {
	Provider string
	Err      error // the cause, redacted
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("provider %s: no access token: %v", e.Provider, e.Err)
}

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// Hint says what to check for the cause, or "" when there is nothing to say.
func (e *TokenError) Hint() string {
	switch {
	case errors.Is(e.Err, ErrClockSkew):
		return "check this host's clock (NTP): the vendor refuses a request whose timestamp is off by more than a few minutes"
	case errors.Is(e.Err, ErrBadCredentials):
		return "check the ids in the provider's auth: block and the secret in its environment variable"
	case errors.Is(e.Err, ErrTransient):
		return "the token endpoint was unreachable: check the provider's endpoint and the network"
	}
	return ""
}

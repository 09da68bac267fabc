package lunkr

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// simAuth is the simulator's token endpoint: the apps it knows and the
// tokens it issued. s.mu guards it.
type simAuth struct {
	secrets  map[string]string // clientId -> clientSecret
	lifetime time.Duration
	issued   map[string]time.Time // access token -> expiry
}

// SetAuth makes the simulator's token endpoint (oauth/accessToken) issue
// tokens to app clientID with secret, living lifetime (whole seconds, at
// least one). Group calls then take an issued token while it lives, as well
// as the fixed tokens NewSimulator was given; an expired one is answered
// 10002, like an invalid one (unconfirmed). Each request gets a new token.
func (s *Simulator) SetAuth(clientID, secret string, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth.secrets == nil {
		s.auth = simAuth{secrets: map[string]string{}, issued: map[string]time.Time{}}
	}
	s.auth.secrets[clientID] = secret
	s.auth.lifetime = max(lifetime.Truncate(time.Second), time.Second)
}

// RevokeTokens makes every issued token invalid.
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.auth.issued)
}

// IssuedTokens returns the tokens issued and not revoked, for leak tests.
func (s *Simulator) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.auth.issued {
		out = append(out, t)
	}
	return out
}

// tokenAcceptedLocked tells whether tok may call: an issued token that
// lives, a fixed one, or, with neither configured, any non-empty token.
func (s *Simulator) tokenAcceptedLocked(tok string) (ok, expired bool) {
	if exp, issued := s.auth.issued[tok]; issued {
		alive := s.now().Before(exp)
		return alive, !alive
	}
	if len(s.knobs.tokens) == 0 && s.auth.secrets == nil {
		return tok != "", false
	}
	return s.knobs.tokens[tok], false
}

// serveToken answers oauth/accessToken, GET or POST, parameters in the query
// (or a POST form).
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeToken(w, http.StatusMethodNotAllowed, tokenAnswer{Error: "invalid_request", ErrorDescription: "method must be GET or POST"})
		return
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeToken(w, http.StatusBadRequest, tokenAnswer{Error: "invalid_request", ErrorDescription: "unreadable parameters"})
		return
	}
	id, secret := r.Form.Get("client_id"), r.Form.Get("client_secret")
	if g := r.Form.Get("grant_type"); g != "client_credentials" {
		writeToken(w, http.StatusBadRequest, tokenAnswer{Error: "unsupported_grant_type", ErrorDescription: "grant_type must be client_credentials"})
		return
	}
	s.mu.Lock()
	want, known := s.auth.secrets[id]
	var ans tokenAnswer
	if known && secret == want && secret != "" {
		tok := randomHex(16)
		s.auth.issued[tok] = s.now().Add(s.auth.lifetime)
		ans = tokenAnswer{AccessToken: tok, TokenType: "bearer", ExpiresIn: int64(s.auth.lifetime / time.Second), Scope: "api"}
	}
	s.mu.Unlock()
	if ans.AccessToken == "" {
		writeToken(w, http.StatusUnauthorized, tokenAnswer{Error: "invalid_client", ErrorDescription: "client_id or client_secret is wrong"})
		return
	}
	writeToken(w, http.StatusOK, ans)
}

func writeToken(w http.ResponseWriter, status int, a tokenAnswer) {
	b, _ := json.Marshal(a)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

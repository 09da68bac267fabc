package yunzhijia

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// CodeTokenExpired is what the simulator answers a group call made with an
// issued token past its lifetime. The vendor's code for it is not published
// (unconfirmed): the simulator uses the same code as an invalid token.
const CodeTokenExpired = CodeInvalidToken

// CodeAuthRefused is the simulator's answer to a token request with an
// unknown eid or a wrong secret or refresh token (unconfirmed).
const CodeAuthRefused = 401

// simAuth is the simulator's token endpoint: the apps it knows and the
// tokens it issued. s.mu guards it.
type simAuth struct {
	secrets  map[string]string // eid -> IM secret
	lifetime time.Duration
	issued   map[string]simToken // access token -> its grant
	latest   map[string]string   // eid -> its newest access token
	refresh  map[string]string   // unused refresh token -> eid
}

type simToken struct {
	eid     string
	expires time.Time
}

// SetAuth makes the simulator's token endpoints
// (oauth2/token/getAccessToken, oauth2/token/refreshToken) issue tokens for
// workspace eid with secret, living lifetime (whole seconds, at least one).
// Group calls then take an issued token while it lives, as well as the
// fixed tokens NewSimulator was given. Calling it again adds a workspace
// and sets the lifetime of tokens issued from then on.
func (s *Simulator) SetAuth(eid, secret string, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth.secrets == nil {
		s.auth = simAuth{secrets: map[string]string{}, issued: map[string]simToken{}, latest: map[string]string{}, refresh: map[string]string{}}
	}
	s.auth.secrets[eid] = secret
	s.auth.lifetime = max(lifetime.Truncate(time.Second), time.Second)
}

// SetNow replaces the simulator's clock: token lifetimes, the timestamp
// window and notices' createTime.
func (s *Simulator) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// RevokeTokens makes every issued token invalid, as an administrator
// resetting the IM secret's tokens would; the next request gets a new one.
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.auth.issued)
	clear(s.auth.latest)
	clear(s.auth.refresh)
}

// IssuedTokens returns every access and refresh token issued and not
// revoked, for leak tests.
func (s *Simulator) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.auth.issued {
		out = append(out, t)
	}
	for t := range s.auth.refresh {
		out = append(out, t)
	}
	return out
}

// issuedOKLocked tells whether tok is an issued token, and whether it
// still lives.
func (s *Simulator) issuedOKLocked(tok string) (known, alive bool) {
	t, ok := s.auth.issued[tok]
	if !ok {
		return false, false
	}
	return true, s.now().Before(t.expires)
}

// serveToken answers getAccessToken and refreshToken.
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request, call string, body []byte) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeHTTPError(w, http.StatusMethodNotAllowed, "method must be POST")
		return
	}
	fieldNames := []string{"eid", "secret", "timestamp", "scope"}
	if call == CallRefreshToken {
		fieldNames = []string{"eid", "refreshToken", "timestamp", "scope"}
	}
	f, err := parseObject(body, fieldNames...)
	s.mu.Lock()
	var ans answer
	if err != nil {
		ans = failure(CodeBadParam, err.Error())
	} else {
		ans = s.tokenLocked(call, f)
	}
	now := s.now()
	s.mu.Unlock()
	out, _ := json.Marshal(ans)
	// The Date header from the simulator's clock, as a client may compare
	// it with its own.
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) tokenLocked(call string, f fields) answer {
	eid, err := f.str("eid", true)
	if err != nil {
		return failure(CodeBadParam, err.Error())
	}
	scope, err := f.str("scope", true)
	if err != nil {
		return failure(CodeBadParam, err.Error())
	}
	if scope != TokenScope {
		return failure(CodeBadParam, "scope "+scope+" is not served here: use "+TokenScope)
	}
	var ts int64
	if err := json.Unmarshal(f["timestamp"], &ts); err != nil {
		return failure(CodeBadParam, "timestamp must be an integer of milliseconds since the epoch")
	}
	now := s.now()
	if d := now.Sub(time.UnixMilli(ts)); d > TimestampWindow || d < -TimestampWindow {
		return failure(CodeBadParam, "timestamp is not within 3 minutes of the server's time (milliseconds since the epoch)")
	}
	secret, known := s.auth.secrets[eid]
	if call == CallRefreshToken {
		rt, err := f.str("refreshToken", true)
		if err != nil {
			return failure(CodeBadParam, err.Error())
		}
		if !known || s.auth.refresh[rt] != eid {
			return failure(CodeAuthRefused, "refreshToken is invalid")
		}
		delete(s.auth.refresh, rt)
		return success(s.issueLocked(eid, now))
	}
	given, err := f.str("secret", true)
	if err != nil {
		return failure(CodeBadParam, err.Error())
	}
	if !known || given != secret {
		return failure(CodeAuthRefused, "eid or secret is wrong")
	}
	// Asked again before expiry, the vendor answers the same token.
	if tok, ok := s.auth.latest[eid]; ok {
		if left := s.auth.issued[tok].expires.Sub(now); left >= time.Second {
			return success(tokenData{AccessToken: tok, ExpireIn: int64(left / time.Second), RefreshToken: s.refreshOfLocked(tok)})
		}
	}
	return success(s.issueLocked(eid, now))
}

func (s *Simulator) issueLocked(eid string, now time.Time) tokenData {
	tok, rt := randomHex(16), randomHex(16)
	s.auth.issued[tok] = simToken{eid: eid, expires: now.Add(s.auth.lifetime)}
	s.auth.latest[eid] = tok
	s.auth.refresh[rt] = eid
	return tokenData{AccessToken: tok, ExpireIn: int64(s.auth.lifetime / time.Second), RefreshToken: rt}
}

// refreshOfLocked returns an unused refresh token of tok's workspace, or a
// new one.
func (s *Simulator) refreshOfLocked(tok string) string {
	eid := s.auth.issued[tok].eid
	for rt, e := range s.auth.refresh {
		if e == eid {
			return rt
		}
	}
	rt := randomHex(16)
	s.auth.refresh[rt] = eid
	return rt
}

// randomHex returns n random bytes in hex: issued tokens are 32 characters,
// as the vendor's are.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

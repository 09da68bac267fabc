package wecom

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"groupsync/internal/vendors"
	"groupsync/internal/vendors/simfault"
)

// Faults makes the simulator misbehave the ways a real vendor does; see
// simfault.Faults. The zero value is a well-behaved vendor.
type Faults = simfault.Faults

// Simulator is an in-process WeCom appchat API: an http.Handler that keeps
// the app's chats, checks what the pages say the vendor checks (chatid
// charset and length, a duplicate chatid, 2–2,000 members, the owner among
// them, only the app's own chats, the token and its lifetime, 1,000 creates
// a day and 1,000 changes an hour) and answers in the vendor's errcode
// envelope. A name longer than 50 characters is cut, as the vendor does.
// Mount it so that requests arrive as /appchat/get etc. (a longer prefix
// such as /cgi-bin/appchat/get is accepted too). It is safe for concurrent
// use.
type Simulator struct {
	mu       sync.Mutex
	now      func() time.Time
	calls    map[string]int
	chats    map[string]*simChat
	foreign  map[string]bool // chats made by people or another app: unreadable
	inj      simfault.Injector
	forced   map[string][]int // call -> errcodes to answer next, not applied
	tokens   map[string]bool  // fixed tokens; empty (and no app) accepts any
	apps     map[string]string
	lifetime time.Duration
	issued   map[string]time.Time
	creates  map[string]int // day (2006-01-02) -> chats created
	changes  map[string]int // hour -> appchat/update calls applied
	landings simfault.Landings
}

type simChat struct {
	ChatID  string   `json:"chatid"`
	Name    string   `json:"name"`
	Owner   string   `json:"owner"`
	Members []string `json:"userlist"`
	Created int64    `json:"created"`
}

// NewSimulator returns a simulator with no chats accepting the given fixed
// access tokens (with none, and no app registered, any non-empty token).
func NewSimulator(tokens ...string) *Simulator {
	s := &Simulator{
		now:     time.Now,
		calls:   map[string]int{},
		chats:   map[string]*simChat{},
		foreign: map[string]bool{},
		forced:  map[string][]int{},
		tokens:  map[string]bool{},
		apps:    map[string]string{},
		issued:  map[string]time.Time{},
		creates: map[string]int{},
		changes: map[string]int{},
	}
	for _, t := range tokens {
		s.tokens[t] = true
	}
	return s
}

type simAnswer map[string]any

func failure(code int, format string, args ...any) simAnswer {
	return simAnswer{"errcode": code, "errmsg": fmt.Sprintf(format, args...)}
}

func ok(extra simAnswer) simAnswer {
	a := simAnswer{"errcode": CodeOK, "errmsg": "ok"}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

type route struct {
	method string
	write  bool
	handle func(s *Simulator, r *http.Request, body []byte) simAnswer
}

var routes = map[string]route{
	CallGet:    {http.MethodGet, false, (*Simulator).get},
	CallCreate: {http.MethodPost, true, (*Simulator).create},
	CallUpdate: {http.MethodPost, true, (*Simulator).update},
}

func callName(path string) string {
	p := strings.TrimPrefix(path, "/")
	for _, c := range []string{CallToken, CallGet, CallCreate, CallUpdate} {
		if p == c || strings.HasSuffix(p, "/"+c) {
			return c
		}
	}
	return p
}

func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callName(r.URL.Path)
	arrived := time.Now()
	s.mu.Lock()
	s.calls[call]++
	pre := s.inj.Before(call)
	s.mu.Unlock()
	if call == CallToken {
		s.serveToken(w, r)
		return
	}
	if pre.Latency > 0 && !sleep(r.Context(), pre.Latency) {
		return
	}
	if pre.Status != 0 {
		if pre.RetryAfter != "" {
			w.Header().Set("Retry-After", pre.RetryAfter)
		}
		writeAnswer(w, pre.Status, failure(CodeBusy, "%s", http.StatusText(pre.Status)))
		return
	}
	rt, known := routes[call]
	if !known {
		writeAnswer(w, http.StatusNotFound, failure(CodeBadRequest, "no such call: %s", call))
		return
	}
	if r.Method != rt.method {
		w.Header().Set("Allow", rt.method)
		writeAnswer(w, http.StatusMethodNotAllowed, failure(CodeBadRequest, "method %s not allowed", r.Method))
		return
	}
	var body []byte
	if rt.write {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeAnswer(w, http.StatusUnsupportedMediaType, failure(CodeBadRequest, "content type must be application/json"))
			return
		}
		if body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20)); err != nil {
			writeAnswer(w, http.StatusBadRequest, failure(CodeBadRequest, "request body: %v", err))
			return
		}
	}
	s.mu.Lock()
	tokOK, expired := s.tokenAcceptedLocked(r.URL.Query().Get("access_token"))
	delay, late := time.Duration(0), false
	if rt.write && tokOK {
		delay, late = s.inj.Late(call, true)
	}
	s.mu.Unlock()
	switch {
	case expired:
		writeAnswer(w, http.StatusOK, failure(CodeTokenExpired, "access_token expired"))
		return
	case !tokOK:
		writeAnswer(w, http.StatusOK, failure(CodeInvalidToken, "invalid access_token"))
		return
	}
	if late {
		type landed struct {
			ans    simAnswer
			action simfault.Outcome
		}
		res := make(chan landed, 1)
		lr := r.Clone(context.WithoutCancel(r.Context()))
		s.landings.At(arrived.Add(delay), func() {
			ans, action := s.apply(lr, call, rt, body)
			res <- landed{ans, action}
		})
		select {
		case l := <-res:
			writeOutcome(w, l.ans, l.action)
		case <-r.Context().Done():
		}
		return
	}
	ans, action := s.apply(r, call, rt, body)
	writeOutcome(w, ans, action)
}

func (s *Simulator) apply(r *http.Request, call string, rt route, body []byte) (simAnswer, simfault.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ans simAnswer
	if enc, echo := s.inj.EchoToken(call); echo {
		ans = failure(CodeBadRequest, "refused %s?access_token=%s", call, simfault.EncodeToken(r.URL.Query().Get("access_token"), enc))
	} else if codes := s.forced[call]; len(codes) > 0 {
		s.forced[call] = codes[1:]
		ans = failure(codes[0], "forced errcode %d", codes[0])
	} else {
		ans = rt.handle(s, r, body)
	}
	action := simfault.Answer
	if ans["errcode"] == CodeOK {
		action = s.inj.AfterApply(call, rt.write)
		if id, bad := s.inj.BadID(call); bad && action == simfault.Answer {
			if ci, isGet := ans["chat_info"].(simChat); isGet {
				ci.ChatID = id
				ans["chat_info"] = ci
			} else {
				ans["chatid"] = id
			}
		}
	}
	return ans, action
}

func writeOutcome(w http.ResponseWriter, ans simAnswer, action simfault.Outcome) {
	switch action {
	case simfault.Lose:
		writeAnswer(w, http.StatusInternalServerError, failure(CodeBusy, "internal server error"))
	case simfault.Drop:
		simfault.DropConnection(w)
	default:
		writeAnswer(w, http.StatusOK, ans)
	}
}

// get serves appchat/get.
func (s *Simulator) get(r *http.Request, _ []byte) simAnswer {
	id := r.URL.Query().Get("chatid")
	if !IsChatID(id) {
		return failure(CodeBadChatID, "invalid chatid")
	}
	if s.foreign[id] {
		return failure(CodeNoPermission, "no privilege to access/modify contact/party/agent: chat %s was not made by this app", id)
	}
	c := s.chats[id]
	if c == nil {
		return failure(CodeChatNotFound, "chatid not exists: %s", id)
	}
	info := *c
	info.Members = slices.Clone(c.Members)
	return ok(simAnswer{"chat_info": info})
}

func day(t time.Time) string  { return t.UTC().Format("2006-01-02") }
func hour(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// create serves appchat/create.
func (s *Simulator) create(_ *http.Request, body []byte) simAnswer {
	var req createBody
	if problem := strictDecode(body, &req, "name", "owner", "userlist", "chatid"); problem != "" {
		return failure(CodeBadRequest, "%s", problem)
	}
	now := s.now()
	if s.creates[day(now)] >= CreatesPerDay {
		return failure(CodeLimitExceeded, "api freq out of limit: %d chats a day", CreatesPerDay)
	}
	if req.ChatID == "" {
		req.ChatID, _ = NewChatID()
	}
	if !IsChatID(req.ChatID) {
		return failure(CodeBadChatID, "invalid chatid: 1–32 of [0-9a-zA-Z]")
	}
	if s.chats[req.ChatID] != nil || s.foreign[req.ChatID] {
		return failure(CodeChatIDExists, "chatid already exists: %s", req.ChatID)
	}
	members, problem := s.userList(req.UserList)
	if problem != "" {
		return failure(CodeBadUser, "%s", problem)
	}
	if len(members) < MinMembers || len(members) > MaxMembers {
		return failure(CodeBadMembers, "invalid chat member count %d: %d to %d", len(members), MinMembers, MaxMembers)
	}
	owner := req.Owner
	if owner == "" {
		owner = members[0]
	} else if !slices.Contains(members, owner) {
		return failure(CodeBadOwner, "invalid chat owner %s: not in userlist", owner)
	}
	s.chats[req.ChatID] = &simChat{ChatID: req.ChatID, Name: cut(req.Name), Owner: owner, Members: members, Created: now.UnixMilli()}
	s.creates[day(now)]++
	return ok(simAnswer{"chatid": req.ChatID})
}

// update serves appchat/update: adds, then removes, then the owner (who
// must be a member after both), then the name.
func (s *Simulator) update(_ *http.Request, body []byte) simAnswer {
	var req updateBody
	if problem := strictDecode(body, &req, "chatid", "name", "owner", "add_user_list", "del_user_list"); problem != "" {
		return failure(CodeBadRequest, "%s", problem)
	}
	if !IsChatID(req.ChatID) {
		return failure(CodeBadChatID, "invalid chatid")
	}
	if s.foreign[req.ChatID] {
		return failure(CodeNoPermission, "no privilege: chat %s was not made by this app", req.ChatID)
	}
	c := s.chats[req.ChatID]
	if c == nil {
		return failure(CodeChatNotFound, "chatid not exists: %s", req.ChatID)
	}
	now := s.now()
	if s.changes[hour(now)] >= ChangesPerHour {
		return failure(CodeLimitExceeded, "api freq out of limit: %d changes an hour", ChangesPerHour)
	}
	add, problem := s.userList(req.AddUserList)
	if problem == "" {
		_, problem = s.userList(req.DelUserList)
	}
	if problem != "" {
		return failure(CodeBadUser, "%s", problem)
	}
	members := slices.Clone(c.Members)
	for _, id := range add {
		if !slices.Contains(members, id) {
			members = append(members, id)
		}
	}
	members = slices.DeleteFunc(members, func(id string) bool { return slices.Contains(req.DelUserList, id) })
	owner := c.Owner
	if req.Owner != "" {
		owner = req.Owner
	}
	switch {
	case len(members) > MaxMembers:
		return failure(CodeBadMembers, "invalid chat member count %d: at most %d", len(members), MaxMembers)
	case !slices.Contains(members, owner):
		return failure(CodeBadOwner, "invalid chat owner %s: not a member", owner)
	}
	c.Members, c.Owner = members, owner
	if req.Name != "" {
		c.Name = cut(req.Name)
	}
	s.changes[hour(now)]++
	return ok(nil)
}

// userList checks ids and drops repeats.
func (s *Simulator) userList(ids []string) ([]string, string) {
	var out []string
	for _, id := range ids {
		if !IsUserID(id) {
			return nil, fmt.Sprintf("invalid userid %q", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, ""
}

// cut cuts a name at MaxNameLen characters, as the vendor does.
func cut(name string) string {
	if r := []rune(name); len(r) > MaxNameLen {
		return string(r[:MaxNameLen])
	}
	return name
}

// strictDecode decodes a JSON object with only the named fields.
func strictDecode(body []byte, v any, fields ...string) string {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return "body is not a JSON object"
	}
	for k := range raw {
		if !slices.Contains(fields, k) {
			return "unknown field " + k
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return "bad field: " + err.Error()
	}
	return ""
}

// serveToken answers gettoken.
func (s *Simulator) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeAnswer(w, http.StatusMethodNotAllowed, failure(CodeBadRequest, "method must be GET"))
		return
	}
	id, secret := r.URL.Query().Get("corpid"), r.URL.Query().Get("corpsecret")
	s.mu.Lock()
	want, known := s.apps[id]
	var ans simAnswer
	if known && secret != "" && secret == want {
		tok := randomHex(24)
		s.issued[tok] = s.now().Add(s.lifetime)
		ans = ok(simAnswer{"access_token": tok, "expires_in": int64(s.lifetime / time.Second)})
	}
	s.mu.Unlock()
	if ans == nil {
		ans = failure(CodeBadSecret, "invalid credential")
	}
	writeAnswer(w, http.StatusOK, ans)
}

// SetAuth makes gettoken issue tokens to corpID with secret, living
// lifetime (whole seconds, at least one); an expired one is answered 42001.
func (s *Simulator) SetAuth(corpID, secret string, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[corpID] = secret
	s.lifetime = max(lifetime.Truncate(time.Second), time.Second)
}

// RevokeTokens makes every issued token invalid (40014).
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.issued)
}

// IssuedTokens returns the tokens issued and not revoked, for leak tests.
func (s *Simulator) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.issued {
		out = append(out, t)
	}
	return out
}

// SetClock replaces the simulator's clock (token lifetimes, daily and
// hourly limits).
func (s *Simulator) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

func (s *Simulator) tokenAcceptedLocked(tok string) (ok, expired bool) {
	if exp, issued := s.issued[tok]; issued {
		alive := s.now().Before(exp)
		return alive, !alive
	}
	if len(s.tokens) == 0 && len(s.apps) == 0 {
		return tok != "", false
	}
	return s.tokens[tok], false
}

// SetFaults replaces the fault settings.
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inj.Set(f)
}

// FailNextAfterApply makes the next n successful calls named call be
// applied and then answered 500, as when the answer is lost.
func (s *Simulator) FailNextAfterApply(call string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inj.FailNext(call, n)
}

// LandLate makes the next n writes named call be applied delay after they
// arrived, whether or not the client still waits.
func (s *Simulator) LandLate(call string, delay time.Duration, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inj.LandLate(call, delay, n)
}

// LateWrites returns how many writes to be applied late are pending, and
// how many have landed.
func (s *Simulator) LateWrites() (pending, landed int) { return s.landings.Count() }

// WaitLanded returns when every late write has landed, or ctx's error.
func (s *Simulator) WaitLanded(ctx context.Context) error { return s.landings.Wait(ctx) }

// BadIDNext makes the next n successful calls named call answer with id in
// place of the chatid.
func (s *Simulator) BadIDNext(call, id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inj.BadIDNext(call, id, n)
}

// EchoTokenNext makes the next n calls named call be refused with a
// message echoing the access token in encoding.
func (s *Simulator) EchoTokenNext(call, encoding string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inj.EchoTokenNext(call, encoding, n)
}

// ForceCodes makes the next calls named call answer the errcodes, one
// each, without being applied.
func (s *Simulator) ForceCodes(call string, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[call] = append(s.forced[call], codes...)
}

// SeedForeign adds a chat made by a person or another app: this app can
// neither read nor change it (60011), and its chatid is taken.
func (s *Simulator) SeedForeign(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.foreign[chatID] = true
}

// SeedGroup adds a chat of this app as the vendor would hold it; the owner
// is g.Owner, else its first manager, else its first member.
func (s *Simulator) SeedGroup(g vendors.Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &simChat{ChatID: g.ID, Name: g.Name, Owner: g.Owner, Created: s.now().UnixMilli()}
	for _, m := range g.Members {
		if !slices.Contains(c.Members, m.ID) {
			c.Members = append(c.Members, m.ID)
		}
	}
	if c.Owner == "" && len(g.Managers) > 0 {
		c.Owner = g.Managers[0]
	}
	if c.Owner == "" && len(c.Members) > 0 {
		c.Owner = c.Members[0]
	}
	if c.Owner != "" && !slices.Contains(c.Members, c.Owner) {
		c.Members = append([]string{c.Owner}, c.Members...)
	}
	s.chats[g.ID] = c
}

// Group returns the chat id as groupsync reads it.
func (s *Simulator) Group(id string) (vendors.Group, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[id]
	if c == nil {
		return vendors.Group{}, false
	}
	return c.group(), true
}

// Groups returns every chat of the app, by chatid.
func (s *Simulator) Groups() []vendors.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]vendors.Group, 0, len(s.chats))
	for _, c := range s.chats {
		out = append(out, c.group())
	}
	slices.SortFunc(out, func(a, b vendors.Group) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (c *simChat) group() vendors.Group {
	g := vendors.Group{ID: c.ChatID, Name: c.Name, Owner: c.Owner, CreateTime: c.Created}
	if c.Owner != "" {
		g.Managers = []string{c.Owner}
	}
	for _, m := range c.Members {
		g.Members = append(g.Members, vendors.LiveMember{ID: m})
	}
	return g
}

// simWorld is the simulator's saved form.
type simWorld struct {
	Chats   map[string]*simChat `json:"chats"`
	Foreign []string            `json:"foreign,omitempty"`
	Creates map[string]int      `json:"creates,omitempty"`
	Changes map[string]int      `json:"changes,omitempty"`
}

// Snapshot saves the chats and the limits' counts.
func (s *Simulator) Snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := simWorld{Chats: s.chats, Creates: s.creates, Changes: s.changes}
	for id := range s.foreign {
		w.Foreign = append(w.Foreign, id)
	}
	slices.Sort(w.Foreign)
	return json.Marshal(w)
}

// Restore loads what Snapshot saved.
func (s *Simulator) Restore(data []byte) error {
	var w simWorld
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("wecom simulator: restore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chats = w.Chats
	if s.chats == nil {
		s.chats = map[string]*simChat{}
	}
	s.foreign = map[string]bool{}
	for _, id := range w.Foreign {
		s.foreign[id] = true
	}
	s.creates, s.changes = w.Creates, w.Changes
	if s.creates == nil {
		s.creates = map[string]int{}
	}
	if s.changes == nil {
		s.changes = map[string]int{}
	}
	return nil
}

// Calls counts the calls by name since the last ResetCalls.
func (s *Simulator) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ResetCalls zeroes the call counts.
func (s *Simulator) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}

func writeAnswer(w http.ResponseWriter, status int, ans simAnswer) {
	b, err := json.Marshal(ans)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errcode":-1,"errmsg":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package lunkr

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"groupsync/internal/vendors/simfault"
)

// Simulator is an in-process Lunkr group API: an http.Handler that keeps a
// world of users and groups, checks what the vendor checks (token, method,
// content type, each field) and answers in the vendor's envelope and codes.
// Mount it so that requests arrive as /groups/info etc. (a longer prefix
// ending in /groups/… is accepted too). It is safe for concurrent use.
type Simulator struct {
	mu    sync.Mutex
	now   func() time.Time
	calls map[string]int
	world world
	knobs knobs
	auth  simAuth
	// landings are the writes applied late (LandLate, Faults.LateRate).
	landings simfault.Landings
}

// NewSimulator returns an empty simulator accepting the given access tokens
// (with none, any non-empty token).
func NewSimulator(tokens ...string) *Simulator {
	return &Simulator{
		now:   time.Now,
		calls: map[string]int{},
		world: newWorld(),
		knobs: newKnobs(tokens),
	}
}

// route is what the simulator knows of a call.
type route struct {
	method string
	write  bool
	handle func(s *Simulator, r *http.Request, body []byte) (int, simAnswer)
}

var routes = map[string]route{
	CallInfo:   {http.MethodGet, false, (*Simulator).info},
	CallCreate: {http.MethodPost, true, (*Simulator).create},
	CallList:   {http.MethodGet, false, (*Simulator).list},
}

// simAnswer is the vendor's envelope. The page documents no message field;
// the simulator puts one under "msg" in error answers.
type simAnswer struct {
	Code string `json:"code"`
	Msg  string `json:"msg,omitempty"`
	Var  any    `json:"var,omitempty"`
	Data any    `json:"data,omitempty"`
}

func failure(code, format string, args ...any) simAnswer {
	return simAnswer{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// callName maps a request path to a call name: the known call it ends with,
// else the path itself.
func callName(path string) string {
	p := strings.TrimPrefix(path, "/")
	if p == CallToken {
		return CallToken
	}
	for c := range routes {
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
	s.mu.Unlock()
	if call == CallToken {
		s.serveToken(w, r)
		return
	}
	s.mu.Lock()
	pre := s.knobs.before(call)
	s.mu.Unlock()
	if pre.Latency > 0 && !sleep(r.Context(), pre.Latency) {
		return
	}
	if pre.Status != 0 {
		if pre.RetryAfter != "" {
			w.Header().Set("Retry-After", pre.RetryAfter)
		}
		writeAnswer(w, pre.Status, failure(CodeUnknownError, "%s", http.StatusText(pre.Status)))
		return
	}
	rt, ok := routes[call]
	if !ok {
		writeAnswer(w, http.StatusNotFound, failure(CodeUnknownError, "no such call: %s", call))
		return
	}
	body, status, problem := s.check(r, rt)
	if status != 0 {
		if status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rt.method)
		}
		writeAnswer(w, status, problem)
		return
	}
	delay, late := time.Duration(0), false
	if rt.write { // reads are never late: no second lock for them
		s.mu.Lock()
		delay, late = s.knobs.inj.Late(call, rt.write)
		s.mu.Unlock()
	}
	if late {
		// The write is applied at its time whether or not the client still
		// waits; the client gets the answer only if it does.
		type landed struct {
			status int
			ans    simAnswer
			action simfault.Outcome
		}
		res := make(chan landed, 1)
		lr := r.Clone(context.WithoutCancel(r.Context()))
		s.landings.At(arrived.Add(delay), func() {
			status, ans, action := s.apply(lr, call, rt, body)
			res <- landed{status, ans, action}
		})
		select {
		case l := <-res:
			writeOutcome(w, l.status, l.ans, l.action)
		case <-r.Context().Done():
		}
		return
	}
	status, ans, action := s.apply(r, call, rt, body)
	writeOutcome(w, status, ans, action)
}

// apply runs the call against the world and decides what becomes of its
// answer.
func (s *Simulator) apply(r *http.Request, call string, rt route, body []byte) (int, simAnswer, simfault.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var status int
	var ans simAnswer
	if enc, echo := s.knobs.inj.EchoToken(call); echo {
		status, ans = http.StatusOK, failure(CodeBadGroupType, "refused %s?accessToken=%s", call, simfault.EncodeToken(r.URL.Query().Get("accessToken"), enc))
	} else if code, forced := s.knobs.forcedCodeFor(call); forced {
		status, ans = http.StatusOK, failure(code, "forced code %s", code)
	} else {
		status, ans = rt.handle(s, r, body)
	}
	// Applied means answered 200 with code OK: a call answered with an
	// error code (forced or not) was not applied and is not failed after.
	action := simfault.Answer
	if status == http.StatusOK && ans.Code == CodeOK {
		action = s.knobs.inj.AfterApply(call, rt.write)
		if id, bad := s.knobs.inj.BadID(call); bad && action == simfault.Answer {
			ans = withBadID(ans, id)
		}
	}
	return status, ans, action
}

func writeOutcome(w http.ResponseWriter, status int, ans simAnswer, action simfault.Outcome) {
	switch action {
	case simfault.Lose:
		writeAnswer(w, http.StatusInternalServerError, failure(CodeUnknownError, "internal server error"))
	case simfault.Drop:
		simfault.DropConnection(w)
	default:
		writeAnswer(w, status, ans)
	}
}

// check makes the checks every call gets: method, content type (for a
// write), body size and the access token. A status of 0 means passed.
func (s *Simulator) check(r *http.Request, rt route) ([]byte, int, simAnswer) {
	if r.Method != rt.method {
		return nil, http.StatusMethodNotAllowed, failure(CodeUnknownError, "method %s not allowed", r.Method)
	}
	var body []byte
	if rt.write {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return nil, http.StatusUnsupportedMediaType, failure(CodeUnknownError, "content type must be application/json")
		}
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			return nil, http.StatusBadRequest, failure(CodeUnknownError, "request body: %v", err)
		}
	}
	tok := r.URL.Query().Get("accessToken")
	s.mu.Lock()
	ok, expired := s.tokenAcceptedLocked(tok)
	s.mu.Unlock()
	switch {
	case expired:
		return nil, http.StatusOK, failure(CodeInvalidToken, "accessToken expired")
	case !ok:
		return nil, http.StatusOK, failure(CodeInvalidToken, "invalid accessToken")
	}
	return body, 0, simAnswer{}
}

// info serves groups/info.
func (s *Simulator) info(r *http.Request, _ []byte) (int, simAnswer) {
	id := r.URL.Query().Get("groupId")
	if id == "" {
		return http.StatusBadRequest, failure(CodeUnknownError, "groupId is required")
	}
	g := s.world.groups[id]
	if g == nil {
		return http.StatusOK, failure(CodeGroupNotFound, "group not found: %s", id)
	}
	return http.StatusOK, simAnswer{Code: CodeOK, Var: simInfo{
		GroupID:     g.ID,
		GroupName:   g.Name,
		GroupType:   g.Type,
		CreateTime:  g.CreateTime,
		MemberCount: len(g.Members),
		Subscribers: s.wireMembers(g.Subscribers),
		Members:     s.wireMembers(g.Members),
	}}
}

type simInfo struct {
	GroupID     string      `json:"groupId"`
	GroupName   string      `json:"groupName"`
	GroupType   string      `json:"groupType"`
	CreateTime  int64       `json:"createTime"`
	MemberCount int         `json:"memberCount"`
	Subscribers []simMember `json:"subscribers"`
	Members     []simMember `json:"members"`
}

type simMember struct {
	UserID   string `json:"userId"`
	Email    string `json:"email"`
	UserName string `json:"userName"`
}

func (s *Simulator) wireMembers(uids []string) []simMember {
	out := make([]simMember, 0, len(uids))
	for _, m := range s.world.liveMembers(uids) {
		out = append(out, simMember{UserID: m.ID, Email: m.Email, UserName: m.Name})
	}
	return out
}

// create serves groups/create.
func (s *Simulator) create(_ *http.Request, body []byte) (int, simAnswer) {
	req, problem := parseCreate(body)
	if problem != "" {
		return http.StatusBadRequest, failure(CodeUnknownError, "%s", problem)
	}
	switch req.GroupType {
	case TypeTopic, TypePublic, TypeSysTopic:
	default:
		return http.StatusOK, failure(CodeBadGroupType, "bad groupType: %s", req.GroupType)
	}
	members, subscribers := splitRefs(req.Members), splitRefs(req.Subscribers)
	switch {
	case len(members) == 0:
		return http.StatusBadRequest, failure(CodeUnknownError, "members is required")
	case len(subscribers) > 0 && req.GroupType != TypeSysTopic:
		return http.StatusBadRequest, failure(CodeUnknownError, "subscribers are for sysTopic only")
	}
	for _, ref := range slices.Concat(members, subscribers) {
		if !s.userExists(ref) {
			return http.StatusOK, failure(CodeUserNotFound, "user not found: %s", ref)
		}
	}
	memberIDs, subscriberIDs := s.registerAll(members), s.registerAll(subscribers)
	g := &simGroup{ID: s.world.newGroupID(), Name: req.Name, Type: req.GroupType, CreateTime: s.now().UnixMilli()}
	s.world.addGroup(g, memberIDs, subscriberIDs)
	return http.StatusOK, simAnswer{Code: CodeOK, Var: map[string]string{"groupId": g.ID}}
}

// parseCreate checks the create body's fields: only the documented ones,
// each a JSON string, name, groupType and members present and not blank.
func parseCreate(body []byte) (createBody, string) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return createBody{}, "body is not a JSON object"
	}
	var req createBody
	dst := map[string]*string{"name": &req.Name, "groupType": &req.GroupType, "members": &req.Members, "subscribers": &req.Subscribers}
	for k, raw := range fields {
		p, known := dst[k]
		if !known {
			return createBody{}, "unknown field " + k
		}
		if err := json.Unmarshal(raw, p); err != nil || strings.TrimSpace(string(raw)) == "null" {
			return createBody{}, k + " must be a string"
		}
	}
	for _, f := range []struct{ name, v string }{{"name", req.Name}, {"groupType", req.GroupType}, {"members", req.Members}} {
		if strings.TrimSpace(f.v) == "" {
			return createBody{}, f.name + " is required"
		}
	}
	return req, ""
}

// splitRefs splits a comma-separated list of emails or uids.
func splitRefs(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// userExists reports whether ref names a user the vendor would find: not
// rejected, and registered or well-formed enough to be auto-registered.
func (s *Simulator) userExists(ref string) bool {
	if s.knobs.rejected[normRef(ref)] {
		return false
	}
	if u := s.world.lookup(ref); u != nil {
		return !s.knobs.rejected[u.UID] && !s.knobs.rejected[strings.ToLower(u.Email)]
	}
	return s.world.canRegister(ref)
}

// registerAll registers refs (checked by userExists) and returns their
// uids without duplicates.
func (s *Simulator) registerAll(refs []string) []string {
	uids := make([]string, 0, len(refs))
	for _, ref := range refs {
		if u := s.world.register(ref); u != nil && !slices.Contains(uids, u.UID) {
			uids = append(uids, u.UID)
		}
	}
	return uids
}

// list serves groups/list.
func (s *Simulator) list(r *http.Request, _ []byte) (int, simAnswer) {
	ref := strings.TrimSpace(r.URL.Query().Get("userId"))
	if ref == "" {
		return http.StatusBadRequest, failure(CodeUnknownError, "userId is required")
	}
	if !s.userExists(ref) {
		return http.StatusOK, failure(CodeUserNotFound, "user not found: %s", ref)
	}
	u := s.world.register(ref)
	groups := make([]*simGroup, 0, len(s.world.memberOf[u.UID]))
	for id := range s.world.memberOf[u.UID] {
		groups = append(groups, s.world.groups[id])
	}
	slices.SortFunc(groups, compareGroups)
	var out simList
	for _, g := range groups {
		e := simRef{UserID: g.ID, Email: g.Email, UserName: g.Name}
		switch g.Type {
		case TypePublic:
			out.Group = append(out.Group, e)
		case TypeSysTopic:
			role := int(s.world.memberOf[u.UID][g.ID])
			e.Role = &role
			out.SysTopic = append(out.SysTopic, e)
		default:
			out.Topic = append(out.Topic, e)
		}
	}
	if s.knobs.listKey == "var" {
		return http.StatusOK, simAnswer{Code: CodeOK, Var: out}
	}
	return http.StatusOK, simAnswer{Code: CodeOK, Data: out}
}

// simList is groups/list's payload; like the vendor's example, it leaves out
// the kinds of group the user has none of.
type simList struct {
	Topic    []simRef `json:"topic,omitempty"`
	Group    []simRef `json:"group,omitempty"`
	SysTopic []simRef `json:"sysTopic,omitempty"`
}

type simRef struct {
	UserID   string `json:"userId"`
	Email    string `json:"email"`
	UserName string `json:"userName"`
	Role     *int   `json:"role,omitempty"`
}

func writeAnswer(w http.ResponseWriter, status int, ans simAnswer) {
	b, err := json.Marshal(ans)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"10001","msg":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
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

package yunzhijia

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"groupsync/internal/vendors/simfault"
)

// Simulator is an in-memory Yunzhijia gateway: an http.Handler that answers
// the group calls as the vendor's pages say, over a world of groups kept in
// memory. Mount it at the gateway base: requests come as /xtinterface/...
// (a leading /gateway is also accepted), so a test serves it with
// httptest.NewServer(sim) and uses srv.URL+"/" as the base URL.
//
// It is safe for concurrent use. Groups are found by id in a map and a
// group's members are one slice, so a world of 10,000 groups of 200 members
// stays cheap in time and memory.
type Simulator struct {
	mu     sync.Mutex
	tokens map[string]bool
	groups map[string]*simGroup
	gone   map[string]bool // dismissed group ids: calls on them answer 410
	next   uint64          // id counter
	calls  map[string]int
	faults simfault.Injector // guarded by mu
	now    func() time.Time
	auth   simAuth
	// landings are the writes applied late (LandLate, Faults.LateRate).
	landings simfault.Landings
}

type simGroup struct {
	id       string
	name     string
	managers []string
	members  []string // participants, managers included, in order of joining, no duplicates
	notices  []noticeInfo
	banners  []bannerRecord
}

type bannerRecord struct {
	ID string `json:"bannerId"`
	bannerParams
}

// NewSimulator returns a simulator with an empty world that accepts the
// given access tokens; with none, it accepts any non-empty token.
func NewSimulator(tokens ...string) *Simulator {
	s := &Simulator{
		tokens: make(map[string]bool, len(tokens)),
		groups: make(map[string]*simGroup),
		gone:   make(map[string]bool),
		calls:  make(map[string]int),
		now:    time.Now,
	}
	for _, t := range tokens {
		s.tokens[t] = true
	}
	return s
}

// endpoint is one call the simulator serves.
type endpoint struct {
	name   string
	write  bool
	fields []string // the request body's allowed keys
	// serve handles a checked request with s.mu held; applied reports
	// that it succeeded (and, for a write, changed the world). Its answer
	// is encoded after s.mu is released: it must not share the world's
	// slices.
	serve func(s *Simulator, f fields) (ans any, applied bool)
}

// tokenPaths are the token endpoints, by path (see sim_auth.go).
var tokenPaths = map[string]string{
	"/" + pathGetToken:     CallGetToken,
	"/" + pathRefreshToken: CallRefreshToken,
}

var endpoints = map[string]endpoint{
	"/" + pathCreateGroup:  {CallCreateGroup, true, []string{"currentUid", "groupName", "userIds"}, (*Simulator).createGroup},
	"/" + pathAddGroupUser: {CallAddGroupUser, true, []string{"currentUid", "groupId", "userIds"}, (*Simulator).addGroupUser},
	"/" + pathGroupUsers:   {CallGroupUsers, false, []string{"currentUid", "groupId"}, (*Simulator).groupUsers},
	"/" + pathDelGroupUser: {CallDelGroupUser, true, []string{"currentUid", "groupId", "userIds"}, (*Simulator).delGroupUser},
	"/" + pathGroupInfo:    {CallGroupInfo, false, []string{"currentUid", "groupId"}, (*Simulator).groupInfo},
	"/" + pathNotice:       {CallNotice, true, []string{"currentUid", "groupId", "title", "content"}, (*Simulator).createNotice},
	"/" + pathBanner:       {CallBanner, true, []string{"currentUid", "groupId", "params"}, (*Simulator).createBanner},
	"/" + pathMerge:        {CallMerge, true, []string{"currentUid", "groupId"}, (*Simulator).merge},
}

// ServeHTTP answers one call. Order of checks: the path (404), faults that
// refuse the call (429, 503), the method (405), the content type (415), the
// token (errorCode 401), the body's fields (400), the group (404, 410), the
// operator's membership (403); then the call is applied, and faults that
// lose the answer may strike.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	path := strings.TrimPrefix(r.URL.Path, "/gateway")
	if call, ok := tokenPaths[path]; ok {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		s.mu.Lock()
		s.calls[call]++
		s.mu.Unlock()
		s.serveToken(w, r, call, body)
		return
	}
	ep, ok := endpoints[path]
	if !ok {
		writeHTTPError(w, http.StatusNotFound, "no such api: "+r.URL.Path)
		return
	}
	// Reading the body first lets the server notice a client that goes
	// away during the latency below.
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return // the client went away
	}
	s.mu.Lock()
	s.calls[ep.name]++
	pre := s.faults.Before(ep.name)
	s.mu.Unlock()

	if pre.Latency > 0 && !sleep(r, pre.Latency) {
		return
	}
	if pre.Status != 0 {
		w.Header().Set("Retry-After", pre.RetryAfter)
		writeHTTPError(w, pre.Status, http.StatusText(pre.Status))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeHTTPError(w, http.StatusMethodNotAllowed, "method must be POST")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeHTTPError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	// Parsing and encoding happen outside the lock: with many calls in
	// flight, the world's lock would otherwise queue them all behind one
	// another's JSON.
	f, parseErr := parseObject(body, ep.fields...)
	tok := r.URL.Query().Get("accessToken")
	delay, late := time.Duration(0), false
	if ep.write && parseErr == nil { // reads are never late: no second lock for them
		s.mu.Lock()
		if ok, _ := s.tokenOK(tok); ok {
			delay, late = s.faults.Late(ep.name, ep.write)
		}
		s.mu.Unlock()
	}
	if late {
		// The write is applied at its time whether or not the client still
		// waits; the client gets the answer only if it does.
		type landed struct {
			out  []byte
			err  error
			post simfault.Outcome
		}
		res := make(chan landed, 1)
		s.landings.At(arrived.Add(delay), func() {
			out, post, err := s.apply(ep, r.URL.Path, tok, f, parseErr)
			res <- landed{out, err, post}
		})
		select {
		case l := <-res:
			writeOutcome(w, l.out, l.err, l.post)
		case <-r.Context().Done():
		}
		return
	}
	out, post, err := s.apply(ep, r.URL.Path, tok, f, parseErr)
	writeOutcome(w, out, err, post)
}

// apply serves the call against the world and decides what becomes of its
// answer; the answer is encoded outside the lock.
func (s *Simulator) apply(ep endpoint, urlPath, tok string, f fields, parseErr error) ([]byte, simfault.Outcome, error) {
	s.mu.Lock()
	var ans any
	applied := false
	if enc, echo := s.faults.EchoToken(ep.name); echo {
		ans = failure(CodeBadParam, "refused "+urlPath+"?accessToken="+simfault.EncodeToken(tok, enc))
	} else if ok, expired := s.tokenOK(tok); expired {
		ans = failure(CodeTokenExpired, "accessToken is expired")
	} else if !ok {
		ans = failure(CodeInvalidToken, "accessToken is invalid or expired")
	} else if parseErr != nil {
		ans = failure(CodeBadParam, parseErr.Error())
	} else {
		ans, applied = ep.serve(s, f)
	}
	post := simfault.Answer
	if applied {
		post = s.faults.AfterApply(ep.name, ep.write)
		if id, bad := s.faults.BadID(ep.name); bad && post == simfault.Answer {
			ans = withBadID(ans, id)
		}
	}
	s.mu.Unlock()
	out, err := json.Marshal(ans)
	return out, post, err
}

func writeOutcome(w http.ResponseWriter, out []byte, err error, post simfault.Outcome) {
	switch {
	case err != nil:
		writeHTTPError(w, http.StatusInternalServerError, err.Error())
	case post == simfault.Lose:
		writeHTTPError(w, http.StatusInternalServerError, "internal error")
	case post == simfault.Drop:
		simfault.DropConnection(w)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// tokenOK tells whether tok is accepted: a fixed token, or an issued one
// that still lives (expired tells it is issued but past its lifetime). With
// no fixed token and no token endpoint set, any non-empty token is.
func (s *Simulator) tokenOK(tok string) (ok, expired bool) {
	if known, alive := s.issuedOKLocked(tok); known {
		return alive, !alive
	}
	if len(s.tokens) == 0 && s.auth.secrets == nil {
		return tok != "", false
	}
	return s.tokens[tok], false
}

// The calls. Each runs with s.mu held.

func (s *Simulator) createGroup(f fields) (any, bool) {
	uid, err := f.uid("currentUid")
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	name, err := f.str("groupName", false)
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	ids, err := f.uids("userIds")
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	g := s.addGroupLocked(s.newIDLocked(), name, []string{uid}, append([]string{uid}, ids...))
	return success(g.info()), true
}

func (s *Simulator) addGroupUser(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	ids, err := f.uids("userIds")
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	g.add(ids...)
	return success(g.info()), true
}

// delGroupUser removes userIds from the group (and from its managers);
// ids not in the group are ignored, so a repeat changes nothing.
func (s *Simulator) delGroupUser(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	ids, err := f.uids("userIds")
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	g.remove(ids...)
	return success(delGroupUserData{GroupID: g.id, GroupName: g.name, GroupType: 2}), true
}

// groupInfo answers the group's name, managers, participant count, and its
// latest notice and banner, keyed by the group id as on the vendor's page.
func (s *Simulator) groupInfo(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	e := groupInfoEntry{GroupInfo: groupInfoDetail{GroupName: g.name, GroupType: 2, ManagerIDs: slices.Clone(g.managers),
		ParticipantCount: len(g.members), GroupID: g.id, HeaderURL: ""}}
	if n := len(g.notices); n > 0 {
		last := g.notices[n-1]
		e.Notice = &currentNotice{SourceID: last.NoticeID, CreateTime: last.CreateTime, PersonID: last.Creator,
			Params: noticeParams{Title: last.Title, Content: last.Content}}
	}
	e.Banner = json.RawMessage("null")
	if n := len(g.banners); n > 0 {
		b, _ := json.Marshal(g.banners[n-1]) // plain strings: never fails
		e.Banner = b
	}
	return success(groupInfoData{g.id: e}), true
}

func (s *Simulator) groupUsers(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	// As on the vendor's page, this answer has no error key.
	return answerNoError{Success: true, ErrorCode: CodeOK, Data: groupUsersData{ManagerIDs: slices.Clone(g.managers), ParticipantIDs: slices.Clone(g.members)}}, true
}

func (s *Simulator) createNotice(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	title, err := f.str("title", true)
	if err == nil && utf8.RuneCountInString(title) > 40 {
		err = fmt.Errorf("title is longer than 40 characters")
	}
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	content, err := f.str("content", true)
	if err == nil && utf8.RuneCountInString(content) > 2000 {
		err = fmt.Errorf("content is longer than 2000 characters")
	}
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	// The vendor names the creator; the simulator knows only ids.
	n := noticeInfo{NoticeID: s.newIDLocked(), Creator: uid, Title: title, Content: content, CreateTime: s.now().UnixMilli()}
	g.notices = append(g.notices, n)
	return success(n), true
}

var bannerFields = []string{"content", "title", "lightAppId", "thumbUrl", "webpageUrl", "primaryContent", "contentUrl"}

func (s *Simulator) createBanner(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	pf, err := f.object("params", bannerFields...)
	if err != nil {
		return failure(CodeBadParam, err.Error()), false
	}
	var vals [7]string
	for i, k := range bannerFields {
		if vals[i], err = pf.str(k, false); err != nil {
			return failure(CodeBadParam, "params: "+err.Error()), false
		}
	}
	g, fail := s.operatorGroupLocked(gid, uid)
	if fail != nil {
		return fail, false
	}
	b := bannerRecord{ID: s.newIDLocked(), bannerParams: bannerParams{
		Content: vals[0], Title: vals[1], LightAppID: vals[2], ThumbURL: vals[3],
		WebpageURL: vals[4], PrimaryContent: vals[5], ContentURL: vals[6],
	}}
	g.banners = append(g.banners, b)
	return success(bannerInfo{BannerID: b.ID}), true
}

func (s *Simulator) merge(f fields) (any, bool) {
	uid, gid, fail := groupArgs(f)
	if fail != nil {
		return fail, false
	}
	if _, fail := s.operatorGroupLocked(gid, uid); fail != nil {
		return fail, false
	}
	msg := "no error"
	return answer{Success: true, Data: s.newIDLocked(), Error: &msg, ErrorCode: CodeMergeOK}, true
}

// groupArgs reads currentUid and groupId.
func groupArgs(f fields) (uid, gid string, fail any) {
	uid, err := f.uid("currentUid")
	if err != nil {
		return "", "", failure(CodeBadParam, err.Error())
	}
	gid, err = f.str("groupId", true)
	if err != nil {
		return "", "", failure(CodeBadParam, err.Error())
	}
	return uid, gid, nil
}

// operatorGroupLocked finds group gid and checks that uid is in it.
func (s *Simulator) operatorGroupLocked(gid, uid string) (*simGroup, any) {
	g, ok := s.groups[gid]
	switch {
	case !ok && s.gone[gid]:
		return nil, failure(CodeGroupDismissed, "group "+gid+" is dismissed")
	case !ok:
		return nil, failure(CodeGroupNotFound, "group "+gid+" not found")
	case !g.has(uid):
		return nil, failure(CodeNoPermission, "user "+uid+" is not in group "+gid)
	}
	return g, nil
}

// addGroupLocked creates or replaces group id. Managers are made members;
// an empty name is made from the first members' ids, as the vendor names a
// group after its participants.
func (s *Simulator) addGroupLocked(id, name string, managers, members []string) *simGroup {
	g := &simGroup{id: id}
	g.fill(managers, members)
	if name == "" {
		name = strings.Join(g.members[:min(3, len(g.members))], "、")
	}
	g.name = name
	s.groups[id] = g
	delete(s.gone, id)
	return g
}

// newIDLocked returns a fresh 24-hex id from the counter.
func (s *Simulator) newIDLocked() string {
	for {
		s.next++
		id := fmt.Sprintf("5e000000%016x", s.next)
		if _, taken := s.groups[id]; !taken && !s.gone[id] {
			return id
		}
	}
}

// fill adds members, then managers (who are members too).
func (g *simGroup) fill(managers, members []string) {
	g.members = slices.Grow(g.members, len(members)+len(managers))
	g.add(members...)
	for _, m := range managers {
		if !slices.Contains(g.managers, m) {
			g.managers = append(g.managers, m)
		}
	}
	g.add(managers...)
}

// has reports whether uid is a member. It scans: a group has a few hundred
// members, and an index per group would take more memory than the members
// themselves. Managers, usually the operator, are looked at first.
func (g *simGroup) has(uid string) bool {
	return slices.Contains(g.managers, uid) || slices.Contains(g.members, uid)
}

// add appends the uids that are not members yet, in order.
func (g *simGroup) add(uids ...string) {
	if len(uids) <= 4 {
		for _, uid := range uids {
			if !g.has(uid) {
				g.members = append(g.members, uid)
			}
		}
		return
	}
	in := make(map[string]struct{}, len(g.members)+len(uids))
	for _, m := range g.members {
		in[m] = struct{}{}
	}
	for _, uid := range uids {
		if _, dup := in[uid]; !dup {
			in[uid] = struct{}{}
			g.members = append(g.members, uid)
		}
	}
}

// remove takes uids out of the members and the managers.
func (g *simGroup) remove(uids ...string) {
	drop := func(m string) bool { return slices.Contains(uids, m) }
	g.members = slices.DeleteFunc(g.members, drop)
	g.managers = slices.DeleteFunc(g.managers, drop)
}

func (g *simGroup) info() groupInfo {
	// groupType and status as on the vendor's page (their meaning is not documented).
	return groupInfo{GroupID: g.id, GroupName: g.name, GroupType: 2, Status: 1059}
}

func success(data any) answer {
	return answer{Success: true, Data: data, ErrorCode: CodeOK}
}

func failure(code int, msg string) answer {
	return answer{Success: false, Error: &msg, ErrorCode: code}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// writeHTTPError answers an HTTP-level failure, in the envelope with the
// status as errorCode.
func writeHTTPError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(failure(status, msg))
	writeJSON(w, status, b)
}

// sleep waits d or until the client goes away, which it reports as false.
func sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

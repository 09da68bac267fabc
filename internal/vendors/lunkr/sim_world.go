package lunkr

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"groupsync/internal/vendors"
)

// The simulator's world: a user directory and the groups. Every method here
// expects s.mu held. Membership is indexed both ways (group -> ordered uids,
// uid -> group -> role) so that info, list and edits cost no more than the
// size of their answer.

// Group ids and the uids of auto-registered users come from two counters
// far apart, so that group ids stay 10000, 10001, … however many users
// were registered; a uid in use is skipped by both.
const (
	firstGroupID = 10000
	firstUserID  = 1000000
	simEmailHost = "sim.lunkr.invalid"
	robotHost    = "robot.lunkr.cn"
)

// Roles in the uid -> group index; role in a sysTopic list entry.
const (
	roleMember     = 0 // a member; an administrator of a sysTopic
	roleSubscriber = 1
)

type simUser struct {
	UID   string `json:"uid"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type simGroup struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	CreateTime  int64    `json:"createTime"`
	Email       string   `json:"email"`                 // the group's robot address in groups/list
	Members     []string `json:"members"`               // uids, in order
	Subscribers []string `json:"subscribers,omitempty"` // uids, in order (sysTopic)
	num         int64    // ID as a number, for ordering
}

// world is the part of the simulator that Snapshot saves.
type world struct {
	users     map[string]*simUser        // uid -> user
	byEmail   map[string]string          // lower-case email -> uid
	groups    map[string]*simGroup       // id -> group
	robots    map[string]string          // group robot email -> id
	memberOf  map[string]map[string]int8 // uid -> group id -> role
	nextGroup int64
	nextUser  int64
	lastStamp int64 // highest robot-address stamp handed out
}

func newWorld() world {
	return world{
		users:     map[string]*simUser{},
		byEmail:   map[string]string{},
		groups:    map[string]*simGroup{},
		robots:    map[string]string{},
		memberOf:  map[string]map[string]int8{},
		nextGroup: firstGroupID,
		nextUser:  firstUserID,
	}
}

// isEmail is a plain shape check: local@domain.tld, no spaces or commas.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || strings.ContainsAny(s, " ,;\t\r\n\"<>") {
		return false
	}
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1
}

// normRef is the key of a user reference: emails lower-cased.
func normRef(ref string) string {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, "@") {
		return strings.ToLower(ref)
	}
	return ref
}

// idTaken reports whether id is a user's or a group's uid.
func (w *world) idTaken(id string) bool {
	_, u := w.users[id]
	_, g := w.groups[id]
	return u || g
}

func (w *world) newUserID() string {
	for {
		id := strconv.FormatInt(w.nextUser, 10)
		w.nextUser++
		if !w.idTaken(id) {
			return id
		}
	}
}

func (w *world) newGroupID() string {
	for {
		id := strconv.FormatInt(w.nextGroup, 10)
		w.nextGroup++
		if !w.idTaken(id) {
			return id
		}
	}
}

// lookup finds a registered user by uid or email.
func (w *world) lookup(ref string) *simUser {
	ref = normRef(ref)
	if strings.Contains(ref, "@") {
		return w.users[w.byEmail[ref]]
	}
	return w.users[ref]
}

// canRegister reports whether ref is a well-formed reference that register
// would accept (a known user, or an email or uid to auto-register).
func (w *world) canRegister(ref string) bool {
	ref = normRef(ref)
	if w.lookup(ref) != nil {
		return true
	}
	if isEmail(ref) {
		return true
	}
	_, isGroup := w.groups[ref]
	return IsUID(ref) && !isGroup
}

// register returns the user ref names, adding it to the directory when ref
// is a well-formed email (new uid) or uid (made-up email). It returns nil
// when canRegister is false.
func (w *world) register(ref string) *simUser {
	ref = strings.TrimSpace(ref)
	if u := w.lookup(ref); u != nil {
		return u
	}
	if !w.canRegister(ref) {
		return nil
	}
	if isEmail(ref) {
		return w.addUser(w.newUserID(), ref, ref)
	}
	return w.addUser(ref, "u"+ref+"@"+simEmailHost, "")
}

// addUser adds or updates a directory entry. An email already held by
// another user is not taken over.
func (w *world) addUser(uid, email, name string) *simUser {
	u := w.users[uid]
	if u == nil {
		u = &simUser{UID: uid}
		w.users[uid] = u
	}
	if email != "" {
		key := strings.ToLower(email)
		if owner, ok := w.byEmail[key]; !ok || owner == uid {
			if u.Email != "" && strings.ToLower(u.Email) != key {
				delete(w.byEmail, strings.ToLower(u.Email))
			}
			u.Email = email
			w.byEmail[key] = uid
		}
	}
	if u.Email == "" {
		u.Email = "u" + uid + "@" + simEmailHost
		w.byEmail[strings.ToLower(u.Email)] = uid
	}
	if name != "" {
		u.Name = name
	}
	return u
}

// robotEmail makes the group's address: t.. (topic), c.. (public) or s..
// (sysTopic, an assumption) then the creation time in hexadecimal, as in the
// vendor's example. When that is taken (groups created in the same
// millisecond), the stamp moves past the highest one handed out, so that
// many groups seeded with one createTime cost no scan.
func (w *world) robotEmail(typ string, createTime int64) string {
	prefix := map[string]string{TypeTopic: "t", TypePublic: "c", TypeSysTopic: "s"}[typ]
	if prefix == "" {
		prefix = "t"
	}
	for stamp := createTime; ; stamp = max(stamp, w.lastStamp) + 1 {
		e := fmt.Sprintf("%s..%x@%s", prefix, stamp, robotHost)
		if _, taken := w.robots[e]; !taken {
			w.lastStamp = max(w.lastStamp, stamp)
			return e
		}
	}
}

// addGroup stores g (its ID set and free) with its members and subscribers
// (uids of registered users).
func (w *world) addGroup(g *simGroup, members, subscribers []string) {
	g.num = groupNum(g.ID)
	if g.Email == "" {
		g.Email = w.robotEmail(g.Type, g.CreateTime)
	}
	w.groups[g.ID] = g
	w.robots[g.Email] = g.ID
	for _, uid := range members {
		w.join(g, uid, roleMember)
	}
	for _, uid := range subscribers {
		w.join(g, uid, roleSubscriber)
	}
}

func groupNum(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// join adds uid to g unless already in it (a member stays a member).
func (w *world) join(g *simGroup, uid string, role int8) {
	idx := w.memberOf[uid]
	if idx == nil {
		idx = map[string]int8{}
		w.memberOf[uid] = idx
	}
	if _, in := idx[g.ID]; in {
		return
	}
	idx[g.ID] = role
	if role == roleSubscriber {
		g.Subscribers = append(g.Subscribers, uid)
	} else {
		g.Members = append(g.Members, uid)
	}
}

// leave removes uid from g, as a member or a subscriber.
func (w *world) leave(g *simGroup, uid string) {
	role, in := w.memberOf[uid][g.ID]
	if !in {
		return
	}
	delete(w.memberOf[uid], g.ID)
	if role == roleSubscriber {
		g.Subscribers = slices.DeleteFunc(g.Subscribers, func(u string) bool { return u == uid })
	} else {
		g.Members = slices.DeleteFunc(g.Members, func(u string) bool { return u == uid })
	}
}

func (w *world) deleteGroup(id string) {
	g := w.groups[id]
	if g == nil {
		return
	}
	for _, uid := range slices.Concat(g.Members, g.Subscribers) {
		delete(w.memberOf[uid], id)
	}
	delete(w.robots, g.Email)
	delete(w.groups, id)
}

// liveMembers renders uids as the vendor reports them.
func (w *world) liveMembers(uids []string) []vendors.LiveMember {
	out := make([]vendors.LiveMember, 0, len(uids))
	for _, uid := range uids {
		u := w.users[uid]
		out = append(out, vendors.LiveMember{ID: uid, Email: u.Email, Name: u.Name})
	}
	return out
}

// group renders g as the client's ReadGroup returns it.
func (w *world) group(g *simGroup) vendors.Group {
	out := vendors.Group{ID: g.ID, Name: g.Name, Type: g.Type, CreateTime: g.CreateTime, Members: w.liveMembers(g.Members)}
	if len(g.Subscribers) > 0 {
		out.Subscribers = w.liveMembers(g.Subscribers)
	}
	return out
}

func compareGroups(a, b *simGroup) int {
	if c := cmp.Compare(a.num, b.num); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// snapshot is the JSON form of a world.
type snapshot struct {
	Version   int         `json:"version"`
	NextGroup int64       `json:"nextGroup"`
	NextUser  int64       `json:"nextUser"`
	Users     []*simUser  `json:"users"`
	Groups    []*simGroup `json:"groups"`
}

func (w *world) marshal() ([]byte, error) {
	snap := snapshot{Version: 1, NextGroup: w.nextGroup, NextUser: w.nextUser}
	for _, u := range w.users {
		snap.Users = append(snap.Users, u)
	}
	slices.SortFunc(snap.Users, func(a, b *simUser) int {
		return cmp.Or(cmp.Compare(groupNum(a.UID), groupNum(b.UID)), cmp.Compare(a.UID, b.UID))
	})
	for _, g := range w.groups {
		snap.Groups = append(snap.Groups, g)
	}
	slices.SortFunc(snap.Groups, compareGroups)
	return json.MarshalIndent(snap, "", " ")
}

// unmarshalWorld rebuilds a world from a snapshot, refusing one that does
// not hold together (duplicate ids or emails, members that are no user).
func unmarshalWorld(data []byte) (world, error) {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return world{}, fmt.Errorf("lunkr simulator: restore: %w", err)
	}
	if snap.Version != 1 {
		return world{}, fmt.Errorf("lunkr simulator: restore: unknown snapshot version %d", snap.Version)
	}
	w := newWorld()
	w.nextGroup, w.nextUser = max(snap.NextGroup, firstGroupID), max(snap.NextUser, firstUserID)
	var errs []error
	for _, u := range snap.Users {
		if u == nil {
			continue
		}
		switch key := strings.ToLower(u.Email); {
		case u.UID == "" || w.users[u.UID] != nil:
			errs = append(errs, fmt.Errorf("user %q: empty or duplicate uid", u.UID))
		case u.Email == "" || w.byEmail[key] != "":
			errs = append(errs, fmt.Errorf("user %q: empty or duplicate email", u.UID))
		default:
			w.users[u.UID] = &simUser{UID: u.UID, Email: u.Email, Name: u.Name}
			w.byEmail[key] = u.UID
		}
	}
	for _, g := range snap.Groups {
		if g == nil {
			continue
		}
		if g.ID == "" || w.idTaken(g.ID) {
			errs = append(errs, fmt.Errorf("group %q: empty or duplicate id", g.ID))
			continue
		}
		var bad []string
		for _, uid := range slices.Concat(g.Members, g.Subscribers) {
			if w.users[uid] == nil {
				bad = append(bad, uid)
			}
		}
		if len(bad) > 0 {
			errs = append(errs, fmt.Errorf("group %s: unknown users %s", g.ID, strings.Join(bad, ",")))
			continue
		}
		members, subscribers := g.Members, g.Subscribers
		ng := &simGroup{ID: g.ID, Name: g.Name, Type: g.Type, CreateTime: g.CreateTime, Email: g.Email}
		if _, taken := w.robots[ng.Email]; taken {
			ng.Email = ""
		}
		w.addGroup(ng, members, subscribers)
	}
	if err := errors.Join(errs...); err != nil {
		return world{}, fmt.Errorf("lunkr simulator: restore: %w", err)
	}
	return w, nil
}

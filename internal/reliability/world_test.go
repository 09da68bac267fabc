package reliability

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/wecom"
	"groupsync/internal/vendors/yunzhijia"
)

// soak reports whether the long runs were asked for (make soak).
func soak() bool { return os.Getenv("GROUPSYNC_SOAK") != "" }

// sized returns n for make test and big for make soak.
func sized[T any](n, big T) T {
	if soak() {
		return big
	}
	return n
}

// vendorWorld is the three vendors' simulators behind loopback HTTP
// servers, each behind a chaos layer that adds latency and answers that
// never come. A fleet with WeCom groups uses the third (see
// vendorWorld.writeManifest).
type vendorWorld struct {
	yzj    *yunzhijia.Simulator
	lk     *lunkr.Simulator
	wc     *wecom.Simulator
	yzjCh  *chaos
	lkCh   *chaos
	wcCh   *chaos
	yzjURL string // base URLs, ending in '/'
	lkURL  string
	wcURL  string
}

// newVendorWorld starts the simulators accepting token (any non-empty
// token when empty); the servers stop when the test ends.
func newVendorWorld(t testing.TB, token string) *vendorWorld {
	t.Helper()
	var toks []string
	if token != "" {
		toks = []string{token}
	}
	w := &vendorWorld{yzj: yunzhijia.NewSimulator(toks...), lk: lunkr.NewSimulator(toks...), wc: wecom.NewSimulator(toks...)}
	w.yzjCh, w.lkCh, w.wcCh = &chaos{next: w.yzj}, &chaos{next: w.lk}, &chaos{next: w.wc}
	ys, ls, ws := httptest.NewServer(w.yzjCh), httptest.NewServer(w.lkCh), httptest.NewServer(w.wcCh)
	t.Cleanup(ys.Close)
	t.Cleanup(ls.Close)
	t.Cleanup(ws.Close)
	w.yzjURL, w.lkURL, w.wcURL = ys.URL+"/", ls.URL+"/", ws.URL+"/cgi-bin/"
	return w
}

// setChaos sets every chaos layer, each with its own seed.
func (w *vendorWorld) setChaos(c chaosConfig) {
	w.yzjCh.set(c)
	c.Seed++
	w.lkCh.set(c)
	c.Seed++
	w.wcCh.set(c)
}

// quiet turns every fault off: simulators and chaos layers.
func (w *vendorWorld) quiet() {
	w.yzj.SetFaults(yunzhijia.Faults{})
	w.lk.SetFaults(lunkr.Faults{})
	w.wc.SetFaults(wecom.Faults{})
	w.setChaos(chaosConfig{})
}

// writeCalls counts the write calls the simulators received.
func (w *vendorWorld) writeCalls() int {
	y, l, c := w.yzj.Calls(), w.lk.Calls(), w.wc.Calls()
	return y[yunzhijia.CallCreateGroup] + y[yunzhijia.CallAddGroupUser] + y[yunzhijia.CallDelGroupUser] + y[yunzhijia.CallNotice] +
		y[yunzhijia.CallBanner] + l[lunkr.CallCreate] + c[wecom.CallCreate] + c[wecom.CallUpdate]
}

// stalls counts the calls the chaos layers held until the client gave up.
func (w *vendorWorld) stalls() int {
	n := int64(0)
	for _, c := range []*chaos{w.yzjCh, w.lkCh, w.wcCh} {
		n += c.stalled.Load() + c.stalledApplied.Load()
	}
	return int(n)
}

// chaosConfig is what the chaos layer does to calls.
type chaosConfig struct {
	MinLatency, MaxLatency time.Duration // each call waits a uniform draw in between
	// StallRate is the share of calls whose answer never comes: the layer
	// holds the request until the client gives up (its timeout). Of those,
	// StallApplied is the share that the vendor applies all the same.
	StallRate    float64
	StallApplied float64
	Seed         int64
}

// chaos is an http.Handler in front of a simulator.
type chaos struct {
	next http.Handler

	mu  sync.Mutex
	cfg chaosConfig
	rng *rand.Rand

	stalled, stalledApplied atomic.Int64
}

func (c *chaos) set(cfg chaosConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg
	c.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), 0xc4a05))
}

type stallKind int

const (
	noStall stallKind = iota
	stallUnapplied
	stallApplied
)

func (c *chaos) draw() (time.Duration, stallKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rng == nil {
		return 0, noStall
	}
	cfg := c.cfg
	lat := cfg.MinLatency
	if cfg.MaxLatency > cfg.MinLatency {
		lat += time.Duration(c.rng.Int64N(int64(cfg.MaxLatency - cfg.MinLatency)))
	}
	kind := noStall
	if cfg.StallRate > 0 && c.rng.Float64() < cfg.StallRate {
		kind = stallUnapplied
		if c.rng.Float64() < cfg.StallApplied {
			kind = stallApplied
		}
	}
	return lat, kind
}

// stallCap bounds how long a stalled call is held if the client never
// gives up.
const stallCap = 30 * time.Second

func (c *chaos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Reading the whole body lets the server notice a client that gives
	// up (the request's context is then cancelled).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	lat, kind := c.draw()
	// Half the latency is spent before the vendor acts, half on the way
	// back: a client killed in between finds the call applied.
	if !wait(r, lat/2) {
		return
	}
	switch kind {
	case noStall:
		if lat == 0 {
			c.next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		c.next.ServeHTTP(rec, r)
		if !wait(r, lat-lat/2) {
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	case stallApplied:
		c.stalledApplied.Add(1)
		c.serveDiscarding(r)
	default:
		c.stalled.Add(1)
	}
	// Hold the answer until the client has given up on it.
	t := time.NewTimer(stallCap)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
}

// wait waits d, or reports false when the client goes away first.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// serveDiscarding lets the simulator apply the call and throws its answer
// away (a simulator that drops the connection aborts the handler: the
// client sees the same).
func (c *chaos) serveDiscarding(r *http.Request) {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			panic(v)
		}
	}()
	c.next.ServeHTTP(httptest.NewRecorder(), r)
}

// fleet describes a generated manifest.
type fleet struct {
	Prefix    string // of keys and names; names are unique per fleet
	Yunzhijia int    // groups
	Lunkr     int
	WeCom     int // with vendorWorld.writeManifest, which knows the endpoint
	Members   int // per group, besides the owner
	Notices   int // per Yunzhijia group
	Banners   int
	// Pin pins the first group of each vendor to an id (groupId:), so that
	// even a plan of a fresh state reads from the vendors.
	Pin bool
	// Prune sets prune: true on the Yunzhijia provider.
	Prune bool

	wecomURL string // the WeCom provider's endpoint
}

// Ids the first groups are pinned to with fleet.Pin.
const (
	pinnedYzj = "5e00000000000000000000ff"
	pinnedLk  = "10999"
)

// tokenEnv is the variable the generated manifests name for the token.
const tokenEnv = "GS_RELIABILITY_TOKEN"

// Yunzhijia ids of the generated people.
func yzjOwner(i int) string  { return fmt.Sprintf("5b503ee9e4b02abb%08x", i%3) }
func yzjMember(i int) string { return fmt.Sprintf("5bee6706e4b073e5%08x", 0x100+i) }

// tokenLine is the provider's token setting: `token: ${VAR}` or a
// tokenCommand.
type tokenLine string

const envToken tokenLine = "token: ${" + tokenEnv + "}"

// commandToken is a provider setting that runs path for the token.
func commandToken(path string) tokenLine {
	return tokenLine(fmt.Sprintf("tokenCommand: [%q]", path))
}

// writeManifest is writeManifest for w's three endpoints.
func (w *vendorWorld) writeManifest(t testing.TB, dir string, tok tokenLine, f fleet) string {
	f.wecomURL = w.wcURL
	return writeManifest(t, dir, w.yzjURL, w.lkURL, tok, f)
}

// writeManifest writes a manifest of f for the endpoints into dir and
// returns its path.
func writeManifest(t testing.TB, dir string, yzjURL, lkURL string, tok tokenLine, f fleet) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\n\nproviders:\n")
	fmt.Fprintf(&b, "  kingdee:\n    vendor: yunzhijia\n    endpoint: %s\n    %s\n    workspace: \"10109\"\n", yzjURL, tok)
	if f.Prune {
		b.WriteString("    prune: true\n")
	}
	fmt.Fprintf(&b, "  coremail:\n    vendor: lunkr\n    endpoint: %s\n    %s\n", lkURL, tok)
	if f.WeCom > 0 {
		if f.wecomURL == "" {
			t.Fatal("a fleet with WeCom groups is written by vendorWorld.writeManifest")
		}
		fmt.Fprintf(&b, "  weixin:\n    vendor: wecom\n    endpoint: %s\n    %s\n", f.wecomURL, tok)
	}
	fmt.Fprintf(&b, "\npeople:\n")
	for i := range 3 {
		fmt.Fprintf(&b, "  lead%d: {yunzhijia: %s, lunkr: lead%d@example.com}\n", i, yzjOwner(i), i)
	}
	fmt.Fprintf(&b, "\ngroups:\n")
	for i := range f.Yunzhijia {
		fmt.Fprintf(&b, "  - key: %s-yzj-%03d\n    provider: kingdee\n    name: %q\n    owner: lead%d\n    members: [",
			f.Prefix, i, yzjName(f.Prefix, i), i%3)
		for j := range f.Members {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(yzjMember(i*7 + j))
		}
		b.WriteString("]\n")
		if f.Pin && i == 0 {
			fmt.Fprintf(&b, "    groupId: %s\n", pinnedYzj)
		}
		if f.Notices > 0 {
			b.WriteString("    notices:\n")
			for j := range f.Notices {
				fmt.Fprintf(&b, "      - {title: %q, content: %q}\n", fmt.Sprintf("通知 %d", j), fmt.Sprintf("%s 第 %d 组第 %d 条", f.Prefix, i, j))
			}
		}
		if f.Banners > 0 {
			b.WriteString("    banners:\n")
			for j := range f.Banners {
				fmt.Fprintf(&b, "      - {title: %q, webpageUrl: %q}\n", fmt.Sprintf("Runbook %d", j), fmt.Sprintf("https://wiki.example.com/%s/%d/%d", f.Prefix, i, j))
			}
		}
	}
	for i := range f.Lunkr {
		typ := "topic"
		if i%3 == 2 {
			typ = "public"
		}
		fmt.Fprintf(&b, "  - key: %s-lk-%03d\n    provider: coremail\n    type: %s\n    name: %q\n    members: [lead%d",
			f.Prefix, i, typ, lkName(f.Prefix, i), i%3)
		for j := range f.Members {
			fmt.Fprintf(&b, ", m%03d@example.com", i*7+j)
		}
		b.WriteString("]\n")
		if f.Pin && i == 0 {
			fmt.Fprintf(&b, "    groupId: %q\n", pinnedLk)
		}
	}
	for i := range f.WeCom {
		fmt.Fprintf(&b, "  - key: %s-wc-%03d\n    provider: weixin\n    name: %q\n    owner: %s\n    members: [",
			f.Prefix, i, wcName(f.Prefix, i), wcOwner(i))
		for j := range max(f.Members, 1) {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(wcMember(i*7 + j))
		}
		b.WriteString("]\n")
	}
	path := filepath.Join(dir, f.Prefix+".yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func yzjName(prefix string, i int) string { return fmt.Sprintf("%s 讨论组 %03d", prefix, i) }
func lkName(prefix string, i int) string  { return fmt.Sprintf("%s 论客组 %03d", prefix, i) }
func wcName(prefix string, i int) string  { return fmt.Sprintf("%s 企业微信群 %03d", prefix, i) }

// WeCom userids of the generated people.
func wcOwner(i int) string  { return fmt.Sprintf("WangWei%d", i%3) }
func wcMember(i int) string { return fmt.Sprintf("zhang.san%03d", i) }

// loadManifest loads a generated manifest.
func loadManifest(t testing.TB, path string) *spec.Manifest {
	t.Helper()
	m, err := spec.Load(path)
	if err != nil {
		t.Fatalf("generated manifest %s does not load: %v", path, err)
	}
	return m
}

// duplicates returns a description of every duplicate on the simulators:
// two groups of one name, or one content posted twice to a group.
func (w *vendorWorld) duplicates() []string {
	var out []string
	names := map[string][]string{}
	for _, g := range w.yzj.Groups() {
		names["yunzhijia "+g.Name] = append(names["yunzhijia "+g.Name], g.ID)
		notices := map[vendors.Notice]int{}
		for _, n := range w.yzj.Notices(g.ID) {
			notices[n]++
		}
		for n, c := range notices {
			if c > 1 {
				out = append(out, fmt.Sprintf("yunzhijia group %s: notice %q posted %d times", g.ID, n.Title, c))
			}
		}
		banners := map[vendors.Banner]int{}
		for _, b := range w.yzj.Banners(g.ID) {
			banners[b]++
		}
		for b, c := range banners {
			if c > 1 {
				out = append(out, fmt.Sprintf("yunzhijia group %s: banner %q posted %d times", g.ID, b.Title, c))
			}
		}
	}
	for _, g := range w.lk.Groups() {
		names["lunkr "+g.Name] = append(names["lunkr "+g.Name], g.ID)
	}
	for _, g := range w.wc.Groups() {
		names["wecom "+g.Name] = append(names["wecom "+g.Name], g.ID)
	}
	for name, ids := range names {
		if len(ids) > 1 {
			out = append(out, fmt.Sprintf("%d %s groups named %q: %v", len(ids), strings.Fields(name)[0], name, ids))
		}
	}
	return out
}

func (w *vendorWorld) checkNoDuplicates(t testing.TB, when string) {
	t.Helper()
	for _, d := range w.duplicates() {
		t.Errorf("%s: duplicate on the vendor: %s", when, d)
	}
}

// groupsNamed returns the ids of the groups called name on the vendor.
func (w *vendorWorld) groupsNamed(vendor spec.Vendor, name string) []string {
	var gs []vendors.Group
	switch vendor {
	case spec.Vendor("lunkr"):
		gs = w.lk.Groups()
	case spec.Vendor("wecom"):
		gs = w.wc.Groups()
	default:
		gs = w.yzj.Groups()
	}
	var ids []string
	for _, g := range gs {
		if g.Name == name {
			ids = append(ids, g.ID)
		}
	}
	return ids
}

// hasPost reports whether the Yunzhijia group carries the manifest notice
// or banner whose content hash is hash, and its title.
func (w *vendorWorld) hasPost(g *spec.Group, groupID, hash string) (found, known bool) {
	for _, n := range g.Notices {
		if noticeHash(n) == hash {
			for _, live := range w.yzj.Notices(groupID) {
				if live == vendors.Notice(n) {
					return true, true
				}
			}
			return false, true
		}
	}
	for _, b := range g.Banners {
		if bannerHash(b) == hash {
			for _, live := range w.yzj.Banners(groupID) {
				if live == vendors.Banner(b) {
					return true, true
				}
			}
			return false, true
		}
	}
	return false, false
}

// checkConverged checks that the vendors hold what m declares, once, and
// that the state binds every key to the group holding it.
func (w *vendorWorld) checkConverged(t testing.TB, m *spec.Manifest, bound map[string]string) {
	t.Helper()
	for _, g := range m.Groups {
		ids := w.groupsNamed(g.Vendor, g.Name)
		if len(ids) != 1 {
			t.Errorf("group %s: %d %s groups named %q, want 1", g.Key, len(ids), g.Vendor, g.Name)
			continue
		}
		if bound[g.Key] != ids[0] {
			t.Errorf("group %s: state binds %q, the vendor's group is %s", g.Key, bound[g.Key], ids[0])
		}
		if g.Vendor == spec.Vendor("wecom") {
			live, _ := w.wc.Group(ids[0])
			checkMembers(t, g, live)
			if g.Owner != nil && live.Owner != g.Owner.ID {
				t.Errorf("group %s: owner %q, want %q", g.Key, live.Owner, g.Owner.ID)
			}
			continue
		}
		if g.Vendor == spec.Vendor("lunkr") {
			live, _ := w.lk.Group(ids[0])
			if len(live.Members) != len(g.Members) {
				t.Errorf("group %s: %d live members, want %d", g.Key, len(live.Members), len(g.Members))
			}
			continue
		}
		live, _ := w.yzj.Group(ids[0])
		checkMembers(t, g, live)
		if n := len(w.yzj.Notices(ids[0])); n != len(g.Notices) {
			t.Errorf("group %s: %d notices on the vendor, want %d", g.Key, n, len(g.Notices))
		}
		if n := len(w.yzj.Banners(ids[0])); n != len(g.Banners) {
			t.Errorf("group %s: %d banners on the vendor, want %d", g.Key, n, len(g.Banners))
		}
		for _, n := range g.Notices {
			if found, _ := w.hasPost(g, ids[0], noticeHash(n)); !found {
				t.Errorf("group %s: notice %q missing", g.Key, n.Title)
			}
		}
		for _, b := range g.Banners {
			if found, _ := w.hasPost(g, ids[0], bannerHash(b)); !found {
				t.Errorf("group %s: banner %q missing", g.Key, b.Title)
			}
		}
	}
}

// checkMembers checks that every member g lists is in the live group.
func checkMembers(t testing.TB, g *spec.Group, live vendors.Group) {
	t.Helper()
	in := map[string]bool{}
	for _, lm := range live.Members {
		in[lm.ID] = true
	}
	for _, mem := range g.Members {
		if !in[mem.ID] {
			t.Errorf("group %s: member %s missing", g.Key, mem.ID)
		}
	}
}

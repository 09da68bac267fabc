package scale

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"groupsync/internal/spec"
)

// The providers, and the handle of the Yunzhijia operator.
const (
	yzjProvider   = "kingdee"
	lunkrProvider = "coremail"
	wecomProvider = "wework"
	opsHandle     = "ops"
)

// person k of the scenario's directory.
func handle(k int) string  { return fmt.Sprintf("p%05d", k) }
func yzjUID(k int) string  { return fmt.Sprintf("5b%022x", k+1) }
func lunkrID(k int) string { return fmt.Sprintf("p%05d@example.com", k) }
func wecomID(k int) string { return handle(k) }

// opsWeCom is the owner of every WeCom group, not one of its members.
const opsWeCom = "ops.owner"

func groupKey(i int) string { return fmt.Sprintf("team-%05d", i) }
func groupName(i int) string {
	return fmt.Sprintf("Team %05d", i)
}

// opsUID is the Yunzhijia operator: the owner and currentUid of every
// Yunzhijia group, not one of its members.
var opsUID = fmt.Sprintf("5a%022x", 1)

// people is the size of the directory the groups draw their members from.
func (s Scenario) people() int { return max(4*s.Members, 16) }

// member is the directory index of group i's j-th member: a window sliding
// over the directory, so that members are distinct within a group and
// groups overlap.
func (s Scenario) member(i, j int) int { return (i*7 + j) % s.people() }

func welcome(i int) spec.Notice {
	return spec.Notice{Title: "Welcome", Content: fmt.Sprintf("Welcome to team %05d.", i)}
}

func update(i int) spec.Notice {
	return spec.Notice{Title: "Rota", Content: fmt.Sprintf("The on-call rota of team %05d changed.", i)}
}

// The scenario's vendors, as data: the harness drives them through the
// vendor registry (their simulators, clients and call names), never by
// their packages.
const (
	yzjVendor   spec.Vendor = "yunzhijia"
	lunkrVendor spec.Vendor = "lunkr"
	wecomVendor spec.Vendor = "wecom"
)

// Manifest builds the resolved manifest of the scenario directly, with the
// providers' endpoints at the given base URLs. It equals what spec.Load
// makes of YAML(yzjURL, lunkrURL, wecomURL), positions, files and digest
// aside.
func (s Scenario) Manifest(yzjURL, lunkrURL, wecomURL string) *spec.Manifest {
	n := s.people()
	m := &spec.Manifest{
		Providers: map[string]*spec.Provider{
			yzjProvider: {Name: yzjProvider, Vendor: yzjVendor, Endpoint: yzjURL, TokenEnv: "YZJ_TOKEN",
				Operator: opsUID, OperatorHandle: opsHandle},
			lunkrProvider: {Name: lunkrProvider, Vendor: lunkrVendor, Endpoint: lunkrURL, TokenEnv: "LUNKR_TOKEN"},
			wecomProvider: {Name: wecomProvider, Vendor: wecomVendor, Endpoint: wecomURL, TokenEnv: "WECOM_TOKEN"},
		},
		People: make(map[string]spec.Person, n+1),
		Groups: make([]*spec.Group, 0, s.Groups),
		Files:  []string{"(scale) " + s.String()},
	}
	m.People[opsHandle] = spec.Person{Handle: opsHandle, IDs: map[spec.Vendor]string{yzjVendor: opsUID, wecomVendor: opsWeCom}}
	yzj := make([]*spec.Member, n)
	lunkr := make([]*spec.Member, n)
	wecom := make([]*spec.Member, n)
	for k := range n {
		h := handle(k)
		yzj[k] = &spec.Member{Handle: h, ID: yzjUID(k)}
		lunkr[k] = &spec.Member{Handle: h, ID: lunkrID(k)}
		wecom[k] = &spec.Member{Handle: h, ID: wecomID(k)}
		m.People[h] = spec.Person{Handle: h, IDs: map[spec.Vendor]string{yzjVendor: yzj[k].ID, lunkrVendor: lunkr[k].ID, wecomVendor: wecom[k].ID}}
	}
	for i := range s.Groups {
		g := &spec.Group{Key: groupKey(i), Name: groupName(i), Members: make([]*spec.Member, s.Members)}
		dir := yzj
		switch {
		case s.onLunkr(i):
			g.Provider, g.Vendor, g.Type = lunkrProvider, lunkrVendor, spec.TypeTopic
			dir = lunkr
		case s.onWeCom(i):
			g.Provider, g.Vendor = wecomProvider, wecomVendor
			g.Owner = &spec.Member{Handle: opsHandle, ID: opsWeCom}
			g.Prune = s.pruned(i)
			dir = wecom
		default:
			g.Provider, g.Vendor = yzjProvider, yzjVendor
			g.Owner = &spec.Member{Handle: opsHandle, ID: opsUID}
			g.Prune = s.pruned(i)
			g.Notices = []spec.Notice{welcome(i)}
			if s.newNotice(i) {
				g.Notices = append(g.Notices, update(i))
			}
		}
		for j := range g.Members {
			g.Members[j] = dir[s.member(i, j)]
		}
		m.Groups = append(m.Groups, g)
	}
	sum := sha256.Sum256([]byte(m.Files[0]))
	m.Digest = hex.EncodeToString(sum[:])
	return m
}

// YAML writes the scenario's manifest as a user would, for spec.Load.
func (s Scenario) YAML(yzjURL, lunkrURL, wecomURL string) []byte {
	b := bytes.NewBuffer(s.headYAML(yzjURL, lunkrURL, wecomURL, 0))
	s.groupsYAML(b, 0, s.Groups)
	return b.Bytes()
}

// headYAML is the manifest's version, providers and people; rateLimit, when
// not 0, is every provider's.
func (s Scenario) headYAML(yzjURL, lunkrURL, wecomURL string, rateLimit float64) []byte {
	var b bytes.Buffer
	limit := ""
	if rateLimit > 0 {
		limit = fmt.Sprintf("    rateLimit: %g\n", rateLimit)
	}
	fmt.Fprintf(&b, "version: 1\nproviders:\n")
	fmt.Fprintf(&b, "  %s:\n    vendor: yunzhijia\n    endpoint: %s\n    token: ${YZJ_TOKEN}\n    operator: %s\n%s", yzjProvider, yzjURL, opsHandle, limit)
	fmt.Fprintf(&b, "  %s:\n    vendor: lunkr\n    endpoint: %s\n    token: ${LUNKR_TOKEN}\n%s", lunkrProvider, lunkrURL, limit)
	fmt.Fprintf(&b, "  %s:\n    vendor: wecom\n    endpoint: %s\n    token: ${WECOM_TOKEN}\n%s", wecomProvider, wecomURL, limit)
	fmt.Fprintf(&b, "people:\n  %s: {yunzhijia: %s, wecom: %s}\n", opsHandle, opsUID, opsWeCom)
	for k := range s.people() {
		fmt.Fprintf(&b, "  %s: {yunzhijia: %s, lunkr: %s, wecom: %s}\n", handle(k), yzjUID(k), lunkrID(k), wecomID(k))
	}
	return b.Bytes()
}

// groupsYAML writes the groups lo..hi-1 as a groups: list.
func (s Scenario) groupsYAML(b *bytes.Buffer, lo, hi int) {
	b.WriteString("groups:\n")
	for i := lo; i < hi; i++ {
		fmt.Fprintf(b, "  - key: %s\n    name: %s\n", groupKey(i), groupName(i))
		switch {
		case s.onLunkr(i):
			fmt.Fprintf(b, "    provider: %s\n", lunkrProvider)
		case s.onWeCom(i):
			fmt.Fprintf(b, "    provider: %s\n    owner: %s\n", wecomProvider, opsHandle)
			if s.pruned(i) {
				b.WriteString("    prune: true\n")
			}
		default:
			fmt.Fprintf(b, "    provider: %s\n", yzjProvider)
			if s.pruned(i) {
				b.WriteString("    prune: true\n")
			}
			b.WriteString("    notices:\n")
			notices := []spec.Notice{welcome(i)}
			if s.newNotice(i) {
				notices = append(notices, update(i))
			}
			for _, n := range notices {
				fmt.Fprintf(b, "      - {title: %q, content: %q}\n", n.Title, n.Content)
			}
		}
		b.WriteString("    members: [")
		for j := range s.Members {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(handle(s.member(i, j)))
		}
		b.WriteString("]\n")
	}
}

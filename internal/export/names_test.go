package export

import (
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"groupsync/internal/spec"
	"groupsync/internal/vendors"
)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ name, id, want string }{
		{"Lunch club", "20001", "lunch-club"},
		{"  Ops / On-call 2026! ", "20001", "ops-on-call-2026"},
		{"运维广播", "20003", "group-20003"},
		{"发布讨论组", "5c00000000000000000000a2", "group-0000a2"},
		{"IT 服务台", "1", "it"},
		{"Café Crème", "1", "caf-cr-me"},
		{"---", "123456789", "group-456789"},
		{strings.Repeat("ab ", 50), "1", strings.TrimSuffix(strings.Repeat("ab-", 20), "-")},
	} {
		got := slug(tc.name, tc.id)
		if got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if !spec.ValidKey(got) {
			t.Errorf("slug(%q) = %q is not a valid key", tc.name, got)
		}
	}
}

func TestUniqueKey(t *testing.T) {
	taken := map[string]bool{"lunch-club": true, "group-20001": true}
	for _, tc := range []struct{ base, id, want string }{
		{"lunch-club", "20002", "lunch-club-20002"},
		{"lunch-club", "20002", "lunch-club-20002-2"},
		{"group-20001", "20001", "group-20001-2"},
		{"new", "3", "new"},
		{"new", "3", "new-3"},
	} {
		if got := uniqueKey(tc.base, tc.id, taken); got != tc.want {
			t.Errorf("uniqueKey(%q, %q) = %q, want %q", tc.base, tc.id, got, tc.want)
		}
	}
}

func TestHandleFrom(t *testing.T) {
	for _, tc := range []struct{ local, want string }{
		{"alice", "alice"},
		{"partner.dev", "partner.dev"},
		{"1abc", "u1abc"},
		{"a+tag", "a-tag"},
		{"abcdefabcdefabcdefabcdef", "u-abcdefabcdefabcdefabcdef"}, // would read as a Yunzhijia id
		{"", "u"},
		{"张三", "张三"},
	} {
		got := handleFrom(tc.local)
		if got != tc.want || !spec.ValidHandle(got) {
			t.Errorf("handleFrom(%q) = %q (valid %v), want %q", tc.local, got, spec.ValidHandle(got), tc.want)
		}
	}
}

// Whatever a vendor names a group, the scalar written reads back as the
// same string, on one line, with no character that is not graphic.
func TestScalar(t *testing.T) {
	for _, s := range []string{
		"Lunch club", "yes", "no", "null", "~", "123", "0x1F", "1e3", "- item", "a: b", "#hash", "'quoted'", `"double"`,
		" leading", "trailing ", "line\nbreak", "tab\there", "esc\x1b[31mred", "bidi \u202e override", "del\x7f", "c1\u0085",
		"back\\slash", "运维广播", "emoji 🎉", "", "@at", "`tick", "{brace}", "[list]", "*star", "&amp", "!bang", "%pct", "|pipe", ">gt",
	} {
		out := scalar(s)
		if strings.Contains(out, "\n") || strings.IndexFunc(out, func(r rune) bool { return !unicode.IsGraphic(r) && r != ' ' }) >= 0 {
			t.Errorf("scalar(%q) = %q: not one graphic line", s, out)
		}
		var back string
		if err := yaml.Unmarshal([]byte("v: "+out), &struct {
			V *string `yaml:"v"`
		}{&back}); err != nil {
			t.Errorf("scalar(%q) = %q does not parse: %v", s, out, err)
			continue
		}
		if back != s {
			t.Errorf("scalar(%q) = %q reads back as %q", s, out, back)
		}
	}
}

func TestNamer(t *testing.T) {
	m := &spec.Manifest{People: map[string]spec.Person{
		"bob":   {Handle: "bob", IDs: map[spec.Vendor]string{spec.Vendor("lunkr"): "1000777"}},
		"alice": {Handle: "alice", IDs: map[spec.Vendor]string{spec.Vendor("lunkr"): "Alice@Example.com"}},
		"chef":  {Handle: "chef", IDs: map[spec.Vendor]string{spec.Vendor("yunzhijia"): "5b503ee9e4b02abb5318b23e"}},
	}}
	n := newNamer(m, spec.Vendor("lunkr"))
	members := []vendors.LiveMember{
		{ID: "1000777", Email: "bob@example.com"}, // by uid
		{ID: "1", Email: "alice@example.com"},     // by email, without case
		{ID: "3000001"},                           // no email: raw uid
		{ID: "2", Email: "chef@canteen.example.com"},
		{ID: "3", Email: "Chef@Other.example.com"},
		{ID: "4", Email: "chef@canteen.example.com"},
	}
	n.prepare([]live{{group: &vendors.Group{Members: members}}})
	var got []string
	for _, mem := range members {
		got = append(got, n.of(mem))
	}
	want := []string{"bob", "alice", "3000001", "chef-canteen", "chef-other", "chef-canteen"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("named %v, want %v", got, want)
	}
	people := n.people(false, &spec.Provider{})
	if len(people) != 2 || people[0].Handle != "chef-canteen" || people[1].IDs[spec.Vendor("lunkr")] != "Chef@Other.example.com" {
		t.Errorf("new people %+v", people)
	}
}

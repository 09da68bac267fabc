package lunkr

import (
	"regexp"
	"strings"
	"testing"
)

// The id rules as regular expressions: IsUID and IsEmail must match exactly
// what they match.
var (
	uidRE   = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	emailRE = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

var idSamples = []string{
	"", "0", "1", "16", "010664", "-5", "1234567890123456789", "12345678901234567890", "1a", "10664\n",
	"a@b.c", "a@b", "@b.c", "a@@b.c", "a@b..c", "a@-b.c", "a@b-.c", "a@b-x.c", "x.y+z@example.com",
	"p00001@example.com", "test@test.com", "a b@c.d", "a@b.c.", "a@.b.c", "é@b.c", "a@b.c\n", "a@b_c.d",
	"'*+/=?^_{|}~-@x.io", strings.Repeat("a", 250) + "@b.cd", strings.Repeat("a", 249) + "@b.cd",
}

func TestIDRulesMatchTheExpressions(t *testing.T) {
	for _, s := range idSamples {
		checkIDRules(t, s)
	}
}

func FuzzIDRules(f *testing.F) {
	for _, s := range idSamples {
		f.Add(s)
	}
	f.Fuzz(checkIDRules)
}

func checkIDRules(t *testing.T, s string) {
	if got, want := IsUID(s), uidRE.MatchString(s); got != want {
		t.Errorf("IsUID(%q) = %v, the expression says %v", s, got, want)
	}
	if got, want := IsEmail(s), len(s) <= 254 && emailRE.MatchString(s); got != want {
		t.Errorf("IsEmail(%q) = %v, the expression says %v", s, got, want)
	}
}

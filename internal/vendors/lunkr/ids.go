package lunkr

import "strings"

// The vendor's id rules. They are the one definition: the manifest's checks
// (package spec), the client's checks of the vendor's answers and the
// simulator all use them. Every member of every read is checked, so they
// are written out rather than regular expressions; ids_match_test.go holds
// the expressions they match exactly:
//
//   - a uid or a group id is a decimal number (the pages show "16",
//     "1234", "10664"), at most 19 digits, as many as an int64's largest
//     (not all of them fit one; nothing here parses an id as a number):
//     ^[1-9][0-9]{0,18}$
//   - an account's email, as an address is written on the pages:
//     ^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@LABEL(\.LABEL)+$, where LABEL is
//     [A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?

// IsGroupID reports whether s has the shape of a Lunkr group id: a decimal
// number with no leading zero.
func IsGroupID(s string) bool { return isDecimal(s) }

// IsUID reports whether s has the shape of a Lunkr uid: a decimal number
// with no leading zero.
func IsUID(s string) bool { return isDecimal(s) }

func isDecimal(s string) bool { return decimalEnd(s) == len(s) }

// decimalEnd returns the length of the decimal number s begins with, if
// it is one as a uid or a group id is written, or -1. The one-pass
// decoders check an id in the answer where it stands with it.
func decimalEnd(s string) int {
	if len(s) == 0 || s[0] < '1' || s[0] > '9' {
		return -1
	}
	i := 1
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 19 {
		return -1
	}
	return i
}

// IsEmail reports whether s has the shape of a Lunkr account's email (at
// most 254 characters).
func IsEmail(s string) bool { return emailEnd(s) == len(s) }

// emailEnd returns the length of the email address s begins with, or -1
// (for one of more than 254 characters too). The grammar reads one way, so
// the longest address is the only one.
func emailEnd(s string) int {
	i := 0
	for i < len(s) && localByte[s[i]] {
		i++
	}
	if i == 0 || i == len(s) || s[i] != '@' {
		return -1
	}
	for labels := 0; ; labels++ {
		i++ // past the at sign or a dot
		start := i
		for i < len(s) && domainByte[s[i]] {
			i++
		}
		if i == start || s[start] == '-' || s[i-1] == '-' {
			return -1 // an empty label (a trailing dot too), or a hyphen at its edge
		}
		if i == len(s) || s[i] != '.' {
			if labels == 0 || i > 254 {
				return -1 // one label (no dot in the domain), or too long
			}
			return i
		}
	}
}

// localByte holds the bytes an email's local part may have.
var localByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || strings.IndexByte(".!#$%&'*+/=?^_{|}~-", byte(c)) >= 0
	}
	return t
}()

// domainByte holds the bytes a domain's label may have.
var domainByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c)) || c == '-'
	}
	return t
}()

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// IsUserID reports whether s is a Lunkr user id: a uid or an email.
func IsUserID(s string) bool { return IsUID(s) || IsEmail(s) }

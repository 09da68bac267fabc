package lunkr

import "regexp"

// The vendor's id rules. They are the one definition: the manifest's checks
// (package spec), the client's checks of the vendor's answers and the
// simulator all use them.
var (
	// uidRE: a uid or a group id is a decimal number (the pages show
	// "16", "1234", "10664"), at most 19 digits so that it fits an int64.
	uidRE = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)
	// emailRE: an account's email, as an address is written on the pages.
	emailRE = regexp.MustCompile(`^[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

// IsGroupID reports whether s has the shape of a Lunkr group id: a decimal
// number with no leading zero.
func IsGroupID(s string) bool { return uidRE.MatchString(s) }

// IsUID reports whether s has the shape of a Lunkr uid: a decimal number
// with no leading zero.
func IsUID(s string) bool { return uidRE.MatchString(s) }

// IsEmail reports whether s has the shape of a Lunkr account's email (at
// most 254 characters).
func IsEmail(s string) bool { return len(s) <= 254 && emailRE.MatchString(s) }

// IsUserID reports whether s is a Lunkr user id: a uid or an email.
func IsUserID(s string) bool { return IsUID(s) || IsEmail(s) }

package spec

import "groupsync/internal/vendors"

// FieldAllowed reports whether a group of vendor v may carry the manifest
// field (owner, type, subscribers, notices, banners...): what a tool that
// writes manifests (export) needs to know without naming vendors itself.
// It reads the vendor's declared fields, as the validator does.
func FieldAllowed(v Vendor, field string) bool {
	d, ok := lookup(v)
	return ok && takes(d.Fields, field)
}

// UserID reports whether s is a valid user id of vendor v, as the validator
// accepts it in members and people, and returns it in canonical form.
func UserID(v Vendor, s string) (string, bool) { return normalizeID(v, s) }

// IDKey is the form in which two user ids of vendor v compare equal, as the
// validator compares them (Lunkr emails without case).
func IDKey(v Vendor, id string) string { return idKey(v, id) }

// ValidKey reports whether s is a valid group key.
func ValidKey(s string) bool { return keyRE.MatchString(s) }

// ValidHandle reports whether s is a valid people handle: of the handle form
// and not mistakable for a user id of a vendor whose ids clash with handles.
func ValidHandle(s string) bool {
	if !handleRE.MatchString(s) {
		return false
	}
	for _, n := range vendors.Names() {
		if d, ok := vendors.Lookup(n); ok && d.IDs.HandleClash {
			if _, clash := d.IDs.Normalize(s); clash {
				return false
			}
		}
	}
	return true
}

// GroupID reports whether s is a valid group id of vendor v, as the
// validator accepts it in groupId, and returns it in canonical form.
func GroupID(v Vendor, s string) (string, bool) { return normalizeGroupID(v, s) }

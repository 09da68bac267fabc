package spec

// FieldAllowed reports whether a group of vendor v may carry the manifest
// field (owner, type, subscribers, notices, banners...): what a tool that
// writes manifests (export) needs to know without naming vendors itself.
// It reads the same tables the validator refuses fields with.
func FieldAllowed(v Vendor, field string) bool {
	var refused map[string]string
	switch v {
	case Yunzhijia:
		refused = notYunzhijia
	case Lunkr:
		refused = notLunkr
	}
	_, no := refused[field]
	return !no
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
// and not mistakable for a Yunzhijia id.
func ValidHandle(s string) bool { return handleRE.MatchString(s) && !isYunzhijiaID(s) }

// GroupID reports whether s is a valid group id of vendor v, as the
// validator accepts it in groupId, and returns it in canonical form.
func GroupID(v Vendor, s string) (string, bool) { return normalizeGroupID(v, s) }

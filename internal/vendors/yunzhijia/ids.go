package yunzhijia

// IsID reports whether s has the shape of a Yunzhijia id: 24 hexadecimal
// digits (either case). Users (openIds), groups, notices, banners and merged
// histories all have ids of this shape. It is the one definition of the
// rule: the manifest's checks (package spec), the client's checks of the
// vendor's answers and the simulator all use it. A hand-written loop: it
// runs once per member, millions of times for a large manifest.
func IsID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

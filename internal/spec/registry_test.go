package spec

// The manifest rules of each vendor come from the vendor registry, which
// the command fills by importing the registration package.
import _ "groupsync/internal/vendors/registry"

// The registered vendors, by name, for this package's tests.
const (
	Yunzhijia Vendor = "yunzhijia"
	Lunkr     Vendor = "lunkr"
)

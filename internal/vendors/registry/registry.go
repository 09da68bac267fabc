// Package registry registers every vendor groupsync supports. It is the one
// file that names the vendor packages: a new vendor is one more line here
// (see docs/adding-a-vendor.md). The command and the test rigs import it
// for its effect; everything else reads the vendors package's registry.
package registry

import (
	"groupsync/internal/vendors"
	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/wecom"
	"groupsync/internal/vendors/yunzhijia"
)

// The order of registration is the order in which vendors are listed in
// messages ("yunzhijia or lunkr").
func init() {
	vendors.Register(yunzhijia.Descriptor)
	vendors.Register(lunkr.Descriptor)
	vendors.Register(wecom.Descriptor)
}

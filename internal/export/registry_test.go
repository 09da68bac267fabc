package export_test

// The vendors' id rules and fields come from the vendor registry, which the
// command fills by importing the registration package.
import _ "groupsync/internal/vendors/registry"

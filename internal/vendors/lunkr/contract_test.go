package lunkr_test

import (
	"testing"

	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/vendorstest"
)

// TestContract: the client keeps every vendor client's contract against
// its simulator; this package's other tests keep to Lunkr's wire.
func TestContract(t *testing.T) {
	vendorstest.Run(t, vendorstest.Contract{
		Vendor:  &lunkr.Descriptor,
		Members: []string{"alice@example.com", "bob@example.com", "carol@example.com"},
		GroupID: "10664",
		Missing: "424242",
		Read:    lunkr.CallInfo,
		Create:  lunkr.CallCreate,
	})
}

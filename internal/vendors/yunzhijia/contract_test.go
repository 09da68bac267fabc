package yunzhijia_test

import (
	"testing"

	"groupsync/internal/vendors/vendorstest"
	"groupsync/internal/vendors/yunzhijia"
)

// TestContract: the client keeps every vendor client's contract against
// its simulator; this package's other tests keep to Yunzhijia's wire.
func TestContract(t *testing.T) {
	vendorstest.Run(t, vendorstest.Contract{
		Vendor:   &yunzhijia.Descriptor,
		Operator: "5b90c663e4b0216ee04a768c",
		Members:  []string{"5b503ee9e4b02abb5318b23e", "5b6cea82e4b05df05b3efc2b", "5bee6706e4b073e587c144ae"},
		GroupID:  "5bee7172e4b0f6bbaa32b4bf",
		Missing:  "5bee7172e4b0f6bbaa32b4c0",
		Read:     yunzhijia.CallGroupUsers,
		Create:   yunzhijia.CallCreateGroup,
		Add:      yunzhijia.CallAddGroupUser,
	})
}

package wecom_test

import (
	"testing"

	"groupsync/internal/vendors/vendorstest"
	"groupsync/internal/vendors/wecom"
)

// TestContract: the client keeps every vendor client's contract against
// its simulator; this package's other tests keep to WeCom's wire.
func TestContract(t *testing.T) {
	vendorstest.Run(t, vendorstest.Contract{
		Vendor:  &wecom.Descriptor,
		Members: []string{"zhangsan", "lisi", "wang.wu@corp"},
		GroupID: "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA",
		Missing: "wrOgQhDgAAMYQiS5ol9G7gK9JVZZZZ",
		Read:    wecom.CallGet,
		Create:  wecom.CallCreate,
		Add:     wecom.CallUpdate,
	})
}

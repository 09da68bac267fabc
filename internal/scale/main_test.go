package scale

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as the scenarios' simulator
// process (see SimMain) when started as one.
func TestMain(m *testing.M) {
	if SimMain() {
		return
	}
	os.Exit(m.Run())
}

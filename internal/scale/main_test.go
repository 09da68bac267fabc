package scale

import (
	"fmt"
	"os"
	"testing"
)

// TestMain lets this test binary serve as the scenarios' simulator
// process (see SimMain) when started as one.
func TestMain(m *testing.M) {
	if sim, err := SimMain(); sim {
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale simulators:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

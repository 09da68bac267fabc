//go:build !unix

package vendors

import (
	"bytes"
	"context"
	"os/exec"
	"time"
)

// runCommand runs argv, killed when ctx ends. Without process groups only
// the command itself is killed.
func runCommand(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout = &limitedBuffer{b: &stdout, n: maxCommandOutput}
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	return stdout.Bytes(), err
}

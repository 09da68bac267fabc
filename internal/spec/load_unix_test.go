//go:build unix

package spec

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadInputLimits: what is not a regular file or directory, or is
// larger than 32 MB, is an error naming the path before anything is read:
// /dev/zero never ends, a FIFO with no writer blocks its reader forever.
func TestLoadInputLimits(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "groups.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	fifoDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(fifoDir, "a.yaml"), []byte("version: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "b.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 33 MB long, no 33 MB written.
	if err := f.Truncate(33 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Exactly the limit is read in full (not parsed here: 32 MB of YAML
	// takes long under the race detector).
	atLimit := filepath.Join(t.TempDir(), "limit.yaml")
	if err := os.WriteFile(atLimit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(atLimit, MaxManifestSize); err != nil {
		t.Fatal(err)
	}
	if data, err := readManifest(atLimit); err != nil || len(data) != MaxManifestSize {
		t.Errorf("readManifest of exactly 32 MB = %d bytes, %v", len(data), err)
	}

	tests := []struct {
		name, path, want string
	}{
		{"a device", "/dev/zero", "/dev/zero: cannot read: a device is not a manifest: pass a regular file or a directory"},
		{"a FIFO with no writer", fifo, fifo + ": cannot read: a named pipe (FIFO) is not a manifest"},
		{"a FIFO in a directory", fifoDir, filepath.Join(fifoDir, "b.yaml") + ": cannot read: a named pipe (FIFO) is not a manifest"},
		{"a 33 MB file", big, big + ": cannot read: the file is 33 MB, more than the 32 MB a manifest may be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == "/dev/zero" {
				if _, err := os.Stat(tt.path); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := Load(tt.path)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("Load(%s) still running after 20s: it read what it should have refused", tt.path)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load(%s) error = %v\nwant it to contain %q", tt.path, err, tt.want)
			}
		})
	}
}

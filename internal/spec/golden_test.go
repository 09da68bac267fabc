package spec

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with the golden file, or rewrites it with
// -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("errors differ from %s (-want +got):\n%s", golden, diff)
	}
}

// loadErrors loads paths, requires an ErrorList and returns its text.
func loadErrors(t *testing.T, paths ...string) string {
	t.Helper()
	m, err := Load(paths...)
	if err == nil {
		t.Fatalf("Load(%q) = no error, want errors", paths)
	}
	if m != nil {
		t.Errorf("Load(%q) returned a manifest along with errors", paths)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("Load(%q) error is %T, want a non-empty ErrorList", paths, err)
	}
	for _, e := range list {
		fileLevel := strings.HasPrefix(e.Msg, "cannot read") || strings.HasPrefix(e.Msg, "directory has no")
		if e.Pos.File == "" || (e.Pos.Line == 0 && !fileLevel) {
			t.Errorf("error without file:line: %v", e)
		}
	}
	return err.Error() + "\n"
}

// TestInvalidGolden loads each testdata/invalid/<rule>.yaml, one bad
// manifest per rule of SPEC section 2 (plus many-errors.yaml), and compares
// every error it reports with <rule>.golden.
func TestInvalidGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test manifests: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			checkGolden(t, strings.TrimSuffix(f, ".yaml")+".golden", loadErrors(t, f))
		})
	}
}

// TestMultiGolden covers merging: duplicates across files name both
// places, a directory reads only its *.yaml and *.yml files in name order.
func TestMultiGolden(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
	}{
		{"dup", []string{"testdata/multi/dup"}},
		{"split-plus-extra", []string{"testdata/multi/split", "testdata/multi/extra.yaml"}},
		{"missing", []string{"testdata/multi/no-such.yaml", "testdata/multi/split/.."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, "testdata/multi/"+tt.name+".golden", loadErrors(t, tt.paths...))
		})
	}
}

// TestNoSecretInErrors: a literal token's value never appears in an error.
func TestNoSecretInErrors(t *testing.T) {
	for _, f := range []string{"testdata/invalid/token-literal.yaml", "testdata/invalid/many-errors.yaml", "testdata/invalid/endpoint-not-https.yaml"} {
		got := loadErrors(t, f)
		for _, secret := range []string{"SECRET", "plain-text-token", "hunter2", "1234567890"} {
			if strings.Contains(got, secret) {
				t.Errorf("%s: errors repeat the secret %q:\n%s", f, secret, got)
			}
		}
	}
}

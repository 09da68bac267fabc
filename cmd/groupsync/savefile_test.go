package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupsync/internal/reconcile"
)

// TestCLISavedPlanIsEncodeSaved: the plan file `plan --out` streams is the
// whole-document encoding (EncodeSaved) of the plan it holds, byte for byte.
func TestCLISavedPlanIsEncodeSaved(t *testing.T) {
	_, _, planFile := savedPlanSetup(t)
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	var p reconcile.Plan
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Groups) == 0 || p.Summary.Create == 0 || p.Summary.Notices == 0 {
		t.Fatalf("the example's plan has no creates or notices: %+v", p.Summary)
	}
	want, err := reconcile.EncodeSaved(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("the saved plan differs from EncodeSaved's:\n%s\nwant:\n%s", data, want)
	}
	fi, err := os.Stat(planFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestWriteAtomic: a failed write leaves the file that was there, and no
// temporary file; a good one replaces it whole.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(path, []byte("the good plan"), 0o644); err != nil {
		t.Fatal(err)
	}
	entries := func() []string {
		t.Helper()
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	full := errors.New("no space left on device")
	err := writeAtomic(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("half a plan ", 100000)) // past the buffer: some of it on disk
		return full
	})
	if !errors.Is(err, full) {
		t.Errorf("a failed write: %v, want %v", err, full)
	}
	if data, _ := os.ReadFile(path); string(data) != "the good plan" {
		t.Errorf("after a failed write the file holds %.40q…", data)
	}
	if got := entries(); len(got) != 1 {
		t.Errorf("after a failed write the directory holds %q, want the plan only", got)
	}

	if err := writeAtomic(path, func(w io.Writer) error { _, err := io.WriteString(w, "a new plan"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if data, _ := os.ReadFile(path); string(data) != "a new plan" || err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("after a write: %q, mode %v (%v), want the new plan, 0600", data, fi.Mode(), err)
	}
	if got := entries(); len(got) != 1 {
		t.Errorf("after a write the directory holds %q, want the plan only", got)
	}

	// A link is written through, as os.WriteFile did.
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("plan.json", link); err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(link, func(w io.Writer) error { _, err := io.WriteString(w, "through"); return err }); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "through" {
		t.Errorf("through a link: the target holds %q", data)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}

	// Errors name the path asked for, as os.WriteFile's did.
	for _, tt := range []struct{ path, want string }{
		{dir, "open " + dir + ": is a directory"},
		{filepath.Join(dir, "missing", "plan.json"), "open " + filepath.Join(dir, "missing", "plan.json") + ": no such file or directory"},
	} {
		err := writeAtomic(tt.path, func(w io.Writer) error { return nil })
		if err == nil || err.Error() != tt.want {
			t.Errorf("writeAtomic(%s): %v, want %s", tt.path, err, tt.want)
		}
	}
}

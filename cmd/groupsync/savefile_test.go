package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
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

	// A device is written to, not replaced.
	if runtime.GOOS == "linux" {
		if err := writeAtomic("/dev/null", func(w io.Writer) error { _, err := io.WriteString(w, "nothing"); return err }); err != nil {
			t.Errorf("/dev/null: %v", err)
		}
		if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Errorf("/dev/null is now %v (%v)", fi.Mode(), err)
		}
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

// TestReadPlanAsBefore: a saved plan read where it is (a file or a pipe)
// is what decoding its bytes gave, and a corrupt or edited one is refused
// with the same message.
func TestReadPlanAsBefore(t *testing.T) {
	_, _, planFile := savedPlanSetup(t)
	good, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	// The refusal before streaming: decodePlan of the file's bytes.
	before := func(path string, data []byte) (*reconcile.Plan, error) {
		p, err := reconcile.DecodeSaved(data)
		var fv *reconcile.FormatVersionError
		switch {
		case errors.As(err, &fv):
			return nil, errors.New("saved plan " + path + " has format version " + strconv.Itoa(fv.Have) + "; this groupsync reads " + strconv.Itoa(reconcile.FormatVersion) + ": make the plan again")
		case err != nil:
			return nil, errors.New(path + " is not a saved plan: " + err.Error() + "\nhint: to apply a manifest, name it with -f: groupsync apply -f " + path)
		}
		return p, nil
	}
	edit := func(from, to string) []byte { return bytes.Replace(good, []byte(from), []byte(to), 1) }
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"as saved", good},
		{"truncated", good[:len(good)/2]},
		{"not JSON", []byte("groups:\n  - key: a\n")},
		{"empty", nil},
		{"format version 2", edit(`"formatVersion": 1`, `"formatVersion": 2`)},
		{"a string for a number", edit(`"stateSerial": `, `"stateSerial": "1", "x": `)},
		{"a field given twice", edit(`"refreshed": `, `"refreshed": false, "refreshed": `)},
		{"an unknown field", edit(`"refreshed": `, `"future": [1, {"a": null}], "refreshed": `)},
		{"more after the plan", append(slices.Clip(good), "{}"...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			want, werr := before(path, tt.data)
			got, err := readPlan(path)
			if fmt.Sprint(err) != fmt.Sprint(werr) {
				t.Errorf("error:\n%v\nbefore:\n%v", err, werr)
			}
			if !reflect.DeepEqual(got, want) && !bytes.Equal(encode(t, got), encode(t, want)) {
				t.Errorf("plan %+v, before %+v", got, want)
			}
		})
	}
	t.Run("a pipe", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("/dev/fd")
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		go func() {
			w.Write(good)
			w.Close()
		}()
		got, err := readPlan(fmt.Sprintf("/dev/fd/%d", r.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := before("", good)
		if !bytes.Equal(encode(t, got), encode(t, want)) {
			t.Error("the plan read from a pipe differs")
		}
	})
	for _, tt := range []struct{ path, want string }{
		{filepath.Dir(planFile), filepath.Dir(planFile) + " is a directory, not a saved plan\nhint: to apply the manifests in it, name it with -f: groupsync apply -f " + filepath.Dir(planFile)},
		{planFile + ".missing", "read saved plan: open " + planFile + ".missing: no such file or directory"},
	} {
		if _, err := readPlan(tt.path); fmt.Sprint(err) != tt.want {
			t.Errorf("readPlan(%s): %v, want %s", tt.path, err, tt.want)
		}
	}
}

func encode(t *testing.T, p *reconcile.Plan) []byte {
	t.Helper()
	if p == nil {
		return nil
	}
	data, err := reconcile.EncodeSaved(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

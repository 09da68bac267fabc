package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parallelManifest writes a manifest of people and groups files under a
// new directory: n groups per groups file, in files files, plus one file
// of big groups; bad sprinkles errors over the groups.
func parallelManifest(t *testing.T, files, n, big int, bad bool) string {
	t.Helper()
	dir := t.TempDir()
	var head strings.Builder
	head.WriteString("version: 1\nproviders:\n  kingdee:\n    vendor: yunzhijia\n    token: ${YZJ_TOKEN}\n    operator: ops\npeople:\n  ops: {yunzhijia: 5a0000000000000000000001}\n")
	for k := range 50 {
		fmt.Fprintf(&head, "  p%03d: {yunzhijia: 5b%022x}\n", k, k+1)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("00-people.yaml", head.String())
	group := func(w *strings.Builder, i int) {
		key := fmt.Sprintf("team-%04d", i)
		members := fmt.Sprintf("[p%03d, p%03d, p%03d]", i%50, (i+1)%50, (i+2)%50)
		switch {
		case !bad:
		case i%17 == 3:
			key = fmt.Sprintf("team-%04d", i-40) // a duplicate key, in another block or file
		case i%19 == 5:
			members = fmt.Sprintf("[p%03d, nobody, p%03d, p%03d]", i%50, i%50, (i+1)%50) // unknown, twice
		case i%23 == 7:
			fmt.Fprintf(w, "  - key: %s\n    membrs: [p001]\n    key: again\n    provider: kingdee\n", key) // unknown field, duplicate key
			return
		case i%29 == 11:
			w.WriteString("  - just a string\n")
			return
		case i%31 == 13:
			fmt.Fprintf(w, "  - key: %s\n    provider: nowhere\n    previously: [team-%04d]\n", key, i+1)
			return
		case i%37 == 17:
			members = "[p001, 12345, true, \"\"]"
		}
		if i%11 == 2 {
			// A group the line parser declines: yaml.v3 reads it alone.
			fmt.Fprintf(w, "  - key: %s\n    provider: kingdee\n    name: |\n      Team\n      %d\n    members:\n      - p%03d\n", key, i, i%50)
			return
		}
		fmt.Fprintf(w, "  - key: %s\n    name: Team %d # the name\n    provider: kingdee\n    members: %s\n", key, i, members)
	}
	i := 0
	for f := range files {
		var w strings.Builder
		w.WriteString("version: 1\ngroups:\n")
		for range n {
			group(&w, i)
			i++
		}
		write(fmt.Sprintf("10-groups-%02d.yaml", f), w.String())
	}
	if big > 0 {
		var w strings.Builder
		w.WriteString("version: 1\n# the big ones\ngroups:\n")
		for range big {
			group(&w, i)
			i++
		}
		w.WriteString("people:\n  q001: {yunzhijia: 5c0000000000000000000001}\n")
		write("20-big.yaml", w.String())
	}
	return dir
}

// TestParallelLoadAgrees: loaded in parallel, whatever the block size and
// the number of workers, a manifest and its errors are those of the
// sequential load.
func TestParallelLoadAgrees(t *testing.T) {
	defer func(n int) { blockGroups = n }(blockGroups)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	cases := []struct {
		name string
		dir  string
	}{
		{"valid", parallelManifest(t, 4, 60, 700, false)},
		{"errors", parallelManifest(t, 4, 60, 700, true)},
		{"one file", parallelManifest(t, 0, 0, 900, true)},
		{"small files", parallelManifest(t, 9, 3, 0, true)},
		{"checked first", parallelManifest(t, 2, 60, 300, true)},
	}
	// An asterisk: the big file's groups are checked before they are read
	// (see checkFirst), those lineParser declines parsed then.
	big := filepath.Join(cases[len(cases)-1].dir, "20-big.yaml")
	data, err := os.ReadFile(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, append(data, "# *\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var expandErrs ErrorList
		files := expand([]string{c.dir}, &expandErrs)
		want, wantErr := loadSequential(files, nil)
		switch {
		case c.name == "valid" && (wantErr != nil || len(want.Groups) != 940):
			t.Fatalf("%s: the sequential load gives %v", c.name, wantErr)
		case c.name != "valid" && (wantErr == nil || !strings.Contains(wantErr.Error(), "first defined at")):
			t.Fatalf("%s: the sequential load gives %v, want errors", c.name, wantErr)
		}
		for _, procs := range []int{1, 2, 4} {
			for _, block := range []int{1, 3, 16, 128} {
				runtime.GOMAXPROCS(procs)
				blockGroups = block
				got, gotErrs, ok := loadParallel(files, nil)
				if !ok {
					t.Fatalf("%s, %d procs, blocks of %d: loaded again sequentially", c.name, procs, block)
				}
				if gotErrs.Error() != errText(wantErr) {
					t.Fatalf("%s, %d procs, blocks of %d: errors differ:\nparallel:\n%v\nsequential:\n%v", c.name, procs, block, gotErrs, wantErr)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%s, %d procs, blocks of %d: manifests differ (-sequential +parallel):\n%s", c.name, procs, block, diff)
				}
			}
		}
	}
}

// TestParallelLoadRedone: a group that can only be read within its whole
// file is found first, or makes the parallel load give way to the
// sequential one; either way Load gives what the sequential load does.
func TestParallelLoadRedone(t *testing.T) {
	defer func(n int) { blockGroups = n }(blockGroups)
	blockGroups = 2
	for _, c := range []struct {
		group string
		redo  bool
	}{
		{"  - key: x\n    name: \"a\tb\"\n", false},                         // a tab: the file is parsed whole
		{"  - key: x\n    name: a\r\n", false},                              // a carriage return: likewise
		{"  - key: x\n    name: &n a\n  - key: y\n    name: *n\n", false},   // an alias of another group
		{"  - key: x\n    name: a*b\n    previously: [team-0001]\n", false}, // checked first for nothing
		{"  - key: x\n    members: [p001, p001]\n", false},                  // an ordinary error
		{"  - key: x\n    name: [a\n", true},                                // yaml.v3 cannot parse the group alone
		{"  - key: x\n    name: Team\u2028x\n", true},                       // a line break yaml.v3 knows
	} {
		dir := parallelManifest(t, 2, 5, 0, true)
		path := filepath.Join(dir, "10-groups-01.yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, c.group...), 0o644); err != nil {
			t.Fatal(err)
		}
		var expandErrs ErrorList
		files := expand([]string{dir}, &expandErrs)
		if _, _, ok := loadParallel(files, nil); ok == c.redo {
			t.Errorf("%q: loadParallel ok = %v, want %v", c.group, ok, !c.redo)
		}
		loadBothWays(t, dir)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReadHeads: the heads (ReadHeads, Manifest) give Load's providers, people, files and
// digest, without the groups, and still refuses a bad head; a bad group
// is Load's to find.
func TestReadHeads(t *testing.T) {
	for _, c := range []struct {
		name    string
		dir     string
		wantErr string // the heads'; "" for none
	}{
		{"valid", parallelManifest(t, 4, 60, 700, false), ""},
		{"bad groups", parallelManifest(t, 2, 60, 0, true), ""},
		{"bad head", parallelManifest(t, 1, 10, 0, false), "provider kingdee: unknown vendor \"nowhere\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "bad head" {
				people := filepath.Join(c.dir, "00-people.yaml")
				data, err := os.ReadFile(people)
				if err != nil {
					t.Fatal(err)
				}
				data = []byte(strings.Replace(string(data), "vendor: yunzhijia", "vendor: nowhere", 1))
				if err := os.WriteFile(people, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			heads, err := ReadHeads(c.dir).Manifest()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("heads: %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !heads.HeadsOnly || len(heads.Groups) != 0 {
				t.Errorf("HeadsOnly %v with %d groups; want true and none", heads.HeadsOnly, len(heads.Groups))
			}
			full, err := Load(c.dir)
			if c.name == "bad groups" {
				if err == nil {
					t.Fatal("Load found no error in the bad groups")
				}
				var expandErrs ErrorList
				files := expand([]string{c.dir}, &expandErrs)
				if !slices.Equal(heads.Files, files) {
					t.Errorf("files %v, want %v", heads.Files, files)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			full.Groups, full.HeadsOnly = nil, true
			if diff := cmp.Diff(full, heads); diff != "" {
				t.Errorf("the heads differ from Load's heads (-Load +heads):\n%s", diff)
			}
		})
	}
}

// TestHeadsLoad: a manifest loaded in full from its heads' reading gives
// what Load gives, manifest or errors, and reads the files once.
func TestHeadsLoad(t *testing.T) {
	for _, c := range []struct {
		name string
		dir  string
	}{
		{"valid", parallelManifest(t, 4, 60, 700, false)},
		{"errors", parallelManifest(t, 4, 60, 700, true)},
		{"checked first", parallelManifest(t, 2, 60, 0, false)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "checked first" {
				appendTo(t, filepath.Join(c.dir, "00-people.yaml"), "# &\n")
			}
			want, wantErr := Load(c.dir)
			h := ReadHeads(c.dir)
			heads, _ := h.Manifest()
			// Once read, the files may change: the load is of what was read.
			files, err := filepath.Glob(filepath.Join(c.dir, "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(f, []byte("version: 2\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, gotErr := h.Load()
			if errText(gotErr) != errText(wantErr) {
				t.Fatalf("errors differ:\nfrom the heads:\n%v\nLoad:\n%v", gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("manifests differ (-Load +from the heads):\n%s", diff)
			}
			if heads != nil && want != nil && heads.Digest != want.Digest {
				t.Errorf("heads digest %s, Load's %s", heads.Digest, want.Digest)
			}
			if _, err := h.Load(); err == nil {
				t.Error("a second Load of the same heads")
			}
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, s...), 0o644); err != nil {
		t.Fatal(err)
	}
}

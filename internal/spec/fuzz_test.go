package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"groupsync/internal/vendors"
)

// FuzzLoad: any file content yields a manifest or a non-empty ErrorList,
// never a panic, and a manifest that loads keeps the package's invariants.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/invalid/*.yaml")
	seeds = append(seeds, "../../examples/groups.yaml", "testdata/multi/split/30-providers.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("version: 1\ngroups: &g [*g]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(path)
		if err != nil {
			var list ErrorList
			if m != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("Load = %v, %T %v: want nil and a non-empty ErrorList", m, err, err)
			}
			return
		}
		checkInvariants(t, m)
	})
}

// checkInvariants checks what doc.go promises of a loaded manifest.
func checkInvariants(t *testing.T, m *Manifest) {
	t.Helper()
	for name, p := range m.Providers {
		sources := 0
		for _, set := range []bool{p.TokenEnv != "", len(p.TokenCommand) > 0, p.Auth != nil} {
			if set {
				sources++
			}
		}
		if p.Vendor == "" || p.Endpoint == "" || p.Endpoint[len(p.Endpoint)-1] != '/' || sources != 1 ||
			(p.Auth != nil && len(p.Auth.Values)+len(p.Auth.Env) != len(authFields(p.Vendor))) {
			t.Fatalf("provider %s breaks the invariants: %+v", name, p)
		}
	}
	for _, g := range m.Groups {
		p := m.Providers[g.Provider]
		if g.Key == "" || p == nil || g.Vendor != p.Vendor {
			t.Fatalf("group %+v: bad key, provider or vendor", g)
		}
		d, _ := lookup(g.Vendor)
		if d == nil || (d.Fields.Owner != vendors.OwnerNone) != (g.Owner != nil) || (len(d.Fields.Types) > 0) != (g.Type != "") {
			t.Fatalf("group %s: owner %v, type %q on %s", g.Key, g.Owner, g.Type, g.Vendor)
		}
		for _, mem := range append(append([]*Member{}, g.Members...), g.Subscribers...) {
			if _, ok := normalizeID(g.Vendor, mem.ID); !ok {
				t.Fatalf("group %s: member %+v is not a %s id", g.Key, mem, g.Vendor)
			}
		}
	}
}

// authFields are the fields of v's auth block.
func authFields(v Vendor) []vendors.AuthField {
	if d, ok := lookup(v); ok && d.Auth != nil {
		return d.Auth.Fields
	}
	return nil
}

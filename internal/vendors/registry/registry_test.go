package registry_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"groupsync/internal/vendors"
	_ "groupsync/internal/vendors/registry"
)

// moduleRoot is the repository's root, three levels above this package.
const moduleRoot = "../../.."

// notVendors are the packages under internal/vendors that are not a vendor.
var notVendors = []string{"jsonscan", "registry", "simfault", "vendorstest"}

// vendorPackages lists the import paths of the vendor packages: every
// directory under internal/vendors but the ones above.
func vendorPackages(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join(moduleRoot, "internal", "vendors"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !slices.Contains(notVendors, e.Name()) {
			out = append(out, "groupsync/internal/vendors/"+e.Name())
		}
	}
	if len(out) < len(vendors.All()) {
		t.Fatalf("found vendor packages %v, fewer than the %d registered vendors", out, len(vendors.All()))
	}
	return out
}

// TestVendorsInOnePlace: outside the vendor packages themselves and the
// registration file, no non-test Go file imports a vendor package or
// compares anything with a vendor's name: everything else reads the
// registry (SPEC 7.6).
func TestVendorsInOnePlace(t *testing.T) {
	pkgs := vendorPackages(t)
	var names []string
	for _, d := range vendors.All() {
		names = append(names, strconv.Quote(d.Name))
	}
	regFile := filepath.Join("internal", "vendors", "registry", "registry.go")
	checked := 0
	err := filepath.WalkDir(moduleRoot, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(moduleRoot, path)
		if e.IsDir() {
			if path != moduleRoot && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata") {
				return filepath.SkipDir
			}
			for _, p := range pkgs {
				if filepath.ToSlash(rel) == strings.TrimPrefix(p, "groupsync/") {
					return filepath.SkipDir // a vendor package may name itself
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == regFile {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if slices.Contains(pkgs, p) {
				t.Errorf("%s imports vendor package %s: only %s may (read the vendors registry instead)", rel, p, regFile)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.EQL || n.Op == token.NEQ {
					for _, x := range []ast.Expr{n.X, n.Y} {
						if lit, ok := vendorLit(x); ok && slices.Contains(names, lit.Value) {
							t.Errorf("%s compares with vendor name %s: ask the registry's descriptor instead", rel, lit.Value)
						}
					}
				}
			case *ast.CaseClause:
				for _, x := range n.List {
					if lit, ok := vendorLit(x); ok && slices.Contains(names, lit.Value) {
						t.Errorf("%s switches on vendor name %s: ask the registry's descriptor instead", rel, lit.Value)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d files: the walk missed the repository", checked)
	}
}

// vendorLit returns the string literal x is, or converts (spec.Vendor("lunkr")).
func vendorLit(x ast.Expr) (*ast.BasicLit, bool) {
	if c, ok := x.(*ast.CallExpr); ok && len(c.Args) == 1 {
		x = c.Args[0]
	}
	lit, ok := x.(*ast.BasicLit)
	return lit, ok && lit.Kind == token.STRING
}

// TestRegistered: every vendor package is registered, and each descriptor
// is whole.
func TestRegistered(t *testing.T) {
	pkgs := vendorPackages(t)
	if len(pkgs) != len(vendors.All()) {
		t.Errorf("vendor packages %v but registered vendors %v: register each in registry.go", pkgs, vendors.Names())
	}
	for _, p := range pkgs {
		dir := filepath.Join(moduleRoot, strings.TrimPrefix(p, "groupsync/"))
		tests, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		runs := false
		for _, f := range tests {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			runs = runs || strings.Contains(string(data), "vendorstest.Run(")
		}
		if !runs {
			t.Errorf("%s: no test runs the contract suite (vendorstest.Run)", p)
		}
	}
	for _, d := range vendors.All() {
		if d.Title == "" || d.DefaultEndpoint == "" || !strings.HasSuffix(d.DefaultEndpoint, "/") || d.IDs.Form == "" || d.IDs.GroupForm == "" {
			t.Errorf("%s: descriptor lacks a title, an endpoint ending in '/' or id forms: %+v", d.Name, d)
		}
		if c := d.New(&vendors.Transport{Token: vendors.StaticToken("p", "t")}); c.Capabilities() != d.Capabilities {
			t.Errorf("%s: the client's capabilities %+v are not the descriptor's %+v", d.Name, c.Capabilities(), d.Capabilities)
		}
	}
}

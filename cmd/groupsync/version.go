package main

import (
	"runtime/debug"
	"strings"
)

// version is what --version prints: the module version the binary was
// built at (a release tag, or a pseudo-version of the commit), then the
// commit and whether the tree had uncommitted changes, all from the build
// info the go command records (-buildvcs, on by default in a git tree).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok)
}

// versionOf formats build info: "v1.2.0 (commit 0123abcd4567)", with
// ", modified" for a dirty tree; "(devel)" when built outside a module
// version and no commit is known.
func versionOf(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "(unknown: built without module information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	// A pseudo-version already says the tree was dirty.
	v = strings.TrimSuffix(v, "+dirty")
	var facts []string
	if rev != "" {
		facts = append(facts, "commit "+rev[:min(12, len(rev))])
	}
	if dirty {
		facts = append(facts, "modified")
	}
	if bi.GoVersion != "" {
		facts = append(facts, bi.GoVersion)
	}
	if len(facts) == 0 {
		return v
	}
	return v + " (" + strings.Join(facts, ", ") + ")"
}

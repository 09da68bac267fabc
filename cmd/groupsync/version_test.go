package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	rev := "0123abcd4567890fedcba0123abcd4567890fedc"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}},
			true, "v1.2.0 (commit 0123abcd4567, go1.26.8)"},
		{"dirty pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.1-0.20261129090000-0123abcd4567+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}},
			true, "v1.2.1-0.20261129090000-0123abcd4567 (commit 0123abcd4567, modified, go1.26.8)"},
		{"no vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "(devel)"},
		{"no version", &debug.BuildInfo{}, true, "(devel)"},
		{"no build info", nil, false, "(unknown: built without module information)"},
	}
	for _, tt := range tests {
		if got := versionOf(tt.bi, tt.ok); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

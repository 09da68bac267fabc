package main

import (
	"regexp"
	"strings"
	"testing"

	"groupsync/internal/spec"
)

func TestValidateGitHub(t *testing.T) {
	c := newCLI(t)
	r := c.run("validate", "--format", "github", "-f", "testdata/invalid.yaml").wantCode(t, 1)
	c.golden("validate-github", r)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	re := regexp.MustCompile(`^::error file=testdata/invalid\.yaml,line=\d+,col=\d+::[^\n]+$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("not an annotation: %q", l)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^testdata/invalid\.yaml:`).FindAllString(r.stderr, -1)); n != len(lines) {
		t.Errorf("%d annotations, %d errors on stderr", len(lines), n)
	}
	ok := c.run("validate", "--format", "github", "-f", example).wantCode(t, 0)
	if strings.Contains(ok.stdout, "::error") {
		t.Errorf("a valid manifest annotated: %s", ok.stdout)
	}
	c.run("validate", "--format", "xml", "-f", example).wantCode(t, 1)
}

func TestGitHubAnnotationEscapes(t *testing.T) {
	tests := []struct {
		e    spec.Error
		want string
	}{
		{spec.Error{Pos: spec.Pos{File: "a,b:c%.yaml", Line: 3, Col: 5}, Msg: "bad 100%\nnext"},
			"::error file=a%2Cb%3Ac%25.yaml,line=3,col=5::bad 100%25%0Anext"},
		{spec.Error{Pos: spec.Pos{File: "gone.yaml"}, Msg: "cannot read"}, "::error file=gone.yaml::cannot read"},
		{spec.Error{Msg: "no manifest"}, "::error::no manifest"},
	}
	for _, tt := range tests {
		if got := githubAnnotation(&tt.e); got != tt.want {
			t.Errorf("githubAnnotation(%+v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

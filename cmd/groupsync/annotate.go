package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"groupsync/internal/spec"
)

// annotate writes each manifest error as a GitHub Actions annotation on
// stdout (where the runner reads workflow commands), so that a pull
// request shows it on the line it is about; load then reports them as
// usual on stderr. Valid manifests write nothing here.
func (a *app) annotate(files []string) error {
	if len(files) == 0 {
		return nil // load says what is missing
	}
	_, err := spec.Load(files...)
	var list spec.ErrorList
	if !errors.As(err, &list) {
		return nil
	}
	for _, e := range list {
		fmt.Fprintln(a.stdout, githubAnnotation(e))
	}
	return nil
}

// githubAnnotation is `::error file=F,line=L,col=C::message`, with the
// characters the runner reads as syntax percent-encoded.
func githubAnnotation(e *spec.Error) string {
	var props []string
	if e.Pos.File != "" {
		props = append(props, "file="+escapeProperty(e.Pos.File))
		if e.Pos.Line > 0 {
			props = append(props, "line="+strconv.Itoa(e.Pos.Line))
			if e.Pos.Col > 0 {
				props = append(props, "col="+strconv.Itoa(e.Pos.Col))
			}
		}
	}
	head := "::error"
	if len(props) > 0 {
		head += " " + strings.Join(props, ",")
	}
	return head + "::" + escapeData(e.Msg)
}

// escapeData escapes a workflow command's message.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

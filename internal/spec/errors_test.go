package spec

import "testing"

func TestErrorListSortAndFormat(t *testing.T) {
	l := ErrorList{
		{Pos{"b.yaml", 1, 1}, "late file"},
		{Pos{"a.yaml", 10, 2}, "line ten"},
		{Pos{"a.yaml", 2, 9}, "col nine"},
		{Pos{"a.yaml", 2, 3}, "col three"},
		{Pos{"a.yaml", 2, 3}, "col three"},
		{Pos{"a.yaml", 0, 0}, "cannot read: gone"},
		{Pos{}, "no manifest given"},
	}
	l.Sort()
	want := "no manifest given\n" +
		"a.yaml: cannot read: gone\n" +
		"a.yaml:2:3: col three\n" +
		"a.yaml:2:9: col nine\n" +
		"a.yaml:10:2: line ten\n" +
		"b.yaml:1:1: late file"
	if got := l.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

package jsonscan

import (
	"encoding/json"
	"testing"
)

// TestIsNumber agrees with encoding/json on what a JSON number is.
func TestIsNumber(t *testing.T) {
	for _, lit := range []string{"0", "-0", "12", "-12.5", "1e9", "1E+9", "2.5e-3", "", "-", "01", "1.", ".5", "1e", "+1", "0x1", "1_000", "NaN"} {
		var n json.Number
		want := json.Unmarshal([]byte(lit), &n) == nil
		if got := IsNumber(lit); got != want {
			t.Errorf("IsNumber(%q) = %v, encoding/json says %v", lit, got, want)
		}
	}
}

// TestScanner: what it reads, and what turns OK false for the slow path.
func TestScanner(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`["a", "b"]`, []string{"a", "b"}, true},
		{` [ ] `, []string{}, true},
		{`["云之家"]`, []string{"云之家"}, true},
		{`["a\"b"]`, nil, false},          // an escape: the slow path's
		{"[\"a\x01\"]", nil, false},       // a control character
		{"[\"\xff\"]", nil, false},        // invalid UTF-8
		{`["a" "b"]`, nil, false},         // no comma
		{`["a"`, nil, false},              // cut short
		{`{"a": 1}`, nil, false},          // not a list
		{`["a", 1]`, nil, false},          // not a string
		{`["a"] x`, []string{"a"}, false}, // something after
	}
	for _, tt := range tests {
		s := New(tt.in)
		got := s.Strings()
		ok := s.OK && s.End()
		if ok != tt.ok || ok && len(got) != len(tt.want) {
			t.Errorf("%q: %q, ok %v; want %q, ok %v", tt.in, got, ok, tt.want, tt.ok)
			continue
		}
		for i := range got {
			if ok && got[i] != tt.want[i] {
				t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
			}
		}
	}
	s := New(` 12.5, true`)
	if lit := s.Literal(); lit != "12.5" || !s.OK {
		t.Errorf("Literal = %q, ok %v", lit, s.OK)
	}
	s.Expect(',')
	if lit := s.Literal(); lit != "true" || !s.OK || !s.End() {
		t.Errorf("Literal = %q, ok %v", lit, s.OK)
	}
	if s := New(`tru`); s.Literal() != "tru" || s.OK {
		t.Error("tru is no literal")
	}
}

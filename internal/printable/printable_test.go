package printable

import (
	"encoding/json"
	"testing"
	"unicode"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain 名字 text", "plain 名字 text"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"line\nbreak\r\t", `line\nbreak\r\t`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"del\x7f", `del\x7f`},
		{"c1\u0085", `c1\u0085`},
		{`back\slash`, `back\slash`},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	in := map[string]string{"name": "a\x1b\x7f\u0085\u202e\U000E0001b 名字\n", "plain": "x"}
	b, err := json.MarshalIndent(in, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(b)
	for _, r := range string(got) {
		if r != '\n' && r != '\t' && !unicode.IsGraphic(r) {
			t.Errorf("JSON left %U raw: %s", r, got)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["name"] != in["name"] || back["plain"] != "x" {
		t.Errorf("JSON changed the document: %s (%v)", got, err)
	}
	if plain := []byte(`{"a": "b"}`); &JSON(plain)[0] != &plain[0] {
		t.Errorf("JSON copied a document with nothing to escape")
	}
}

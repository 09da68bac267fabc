package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/reconcile"
)

func TestJSONRoundTrip(t *testing.T) {
	p := fullPlan()
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var back reconcile.Plan
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, &back); diff != "" {
		t.Errorf("the document is not the plan's encoding (-plan +decoded):\n%s", diff)
	}
	if !strings.HasPrefix(b.String(), "{\n  \"formatVersion\": 1,\n") {
		t.Errorf("document does not start with formatVersion 1, indented by two: %.60q", b.String())
	}
}

func TestJSONDefaults(t *testing.T) {
	p := &reconcile.Plan{}
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["formatVersion"] != float64(reconcile.FormatVersion) {
		t.Errorf("formatVersion = %v", doc["formatVersion"])
	}
	if g, ok := doc["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups = %#v, want []", doc["groups"])
	}
	if p.FormatVersion != 0 || p.Groups != nil {
		t.Error("JSON modified the plan")
	}
}

// A vendor string with characters encoding/json writes raw (DEL, C1,
// bidi override) is written escaped, and decodes to the same plan.
func TestJSONEscapesControlCharacters(t *testing.T) {
	msg := "read failed: vendor says \x1b[2J\x7f\u009b31m\u202eevil"
	p := &reconcile.Plan{Groups: []reconcile.GroupPlan{{Key: "k", Action: reconcile.ActionReport,
		Errors: []reconcile.Issue{{Kind: reconcile.IssueReadFailed, Message: msg}}}}}
	var b bytes.Buffer
	if err := JSON(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.String() {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e) {
			t.Fatalf("JSON writes %U raw:\n%s", r, b.String())
		}
	}
	var back reconcile.Plan
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Groups[0].Errors[0].Message != msg {
		t.Errorf("decoded message %q (%v), want %q", back.Groups[0].Errors[0].Message, err, msg)
	}
}

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

package reconcile

import (
	"errors"
	"testing"
)

// TestDecodeSavedRecomputesDerivedFields: a saved plan's summary and
// actions are recomputed from its steps, whatever the file says.
func TestDecodeSavedRecomputesDerivedFields(t *testing.T) {
	p := &Plan{FormatVersion: FormatVersion, Groups: []GroupPlan{
		{Key: "a", Create: &CreateStep{Name: "A", Members: []Member{{ID: "1"}}}},
		{Key: "b", Add: []Member{{ID: "2"}, {ID: "3"}}, GroupID: "g"},
	}}
	p.derive()
	want := p.Summary
	p.Summary = Summary{}
	p.Groups[0].Action, p.Groups[1].Action = ActionNone, ActionNone
	data, err := EncodeSaved(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSaved(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Summary != want || want.Create != 1 || want.AddMembers != 2 {
		t.Errorf("summary %+v, want %+v (one create, two adds)", got.Summary, want)
	}
	if got.Groups[0].Action != ActionCreate || got.Groups[1].Action != ActionUpdate {
		t.Errorf("actions %q %q, want + and ~", got.Groups[0].Action, got.Groups[1].Action)
	}
	p.FormatVersion = 2
	data, _ = EncodeSaved(p)
	var fv *FormatVersionError
	if _, err := DecodeSaved(data); !errors.As(err, &fv) || fv.Have != 2 {
		t.Errorf("format version 2: %v, want refused", err)
	}
}

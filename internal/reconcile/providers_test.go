package reconcile

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type hinted struct{ error }

func (hinted) Hint() string { return "check the secret" }

func TestBlockProviders(t *testing.T) {
	p := &Plan{Groups: []GroupPlan{
		{Key: "a", Provider: "kd", Vendor: "yunzhijia", Action: ActionCreate, GroupID: Placeholder, Create: &CreateStep{Name: "A"}, Notices: []PostStep{{Hash: "h"}}},
		{Key: "b", Provider: "kd", Vendor: "yunzhijia", Action: ActionUpdate, GroupID: "5e00", Add: []Member{{ID: "x"}}, Drift: []Drift{{Kind: DriftExtraMember}}},
		{Key: "c", Provider: "cm", Vendor: "lunkr", Action: ActionCreate, GroupID: Placeholder, Create: &CreateStep{Name: "C"}},
	}}
	p.Summary = summarise(p.Groups)
	down := map[string]error{"kd": hinted{errors.New("provider kd: no access token: credentials refused")}}
	BlockProviders(p, down)
	BlockProviders(p, down) // a saved plan blocked again says it once
	want := []ProviderError{{Provider: "kd", Message: "provider kd: no access token: credentials refused", Fix: "check the secret"}}
	if diff := cmp.Diff(want, p.ProviderErrors); diff != "" {
		t.Errorf("ProviderErrors (-want +got):\n%s", diff)
	}
	for _, g := range p.Groups[:2] {
		if g.Action != ActionReport || g.Create != nil || len(g.Add)+len(g.Notices)+len(g.Drift) != 0 ||
			len(g.Errors) != 1 || g.Errors[0].Kind != IssueProvider {
			t.Errorf("group %s not blocked: %+v", g.Key, g)
		}
	}
	if g := p.Groups[2]; g.Create == nil || g.Action != ActionCreate {
		t.Errorf("the other provider's group was touched: %+v", g)
	}
	if s := p.Summary; s.Create != 1 || s.Errors != 2 || s.WriteCalls != 1 || s.Drift != 0 {
		t.Errorf("summary %+v: want 1 create, 2 errors, 1 write call", s)
	}
}

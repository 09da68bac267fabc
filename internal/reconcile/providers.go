package reconcile

import (
	"errors"
	"fmt"
	"sort"
)

// IssueProvider blocks a group whose provider cannot be used in this run
// (its access token could not be had): the cause is said once, in
// Plan.ProviderErrors, not once per group.
const IssueProvider IssueKind = "provider-unavailable"

// ProviderError is a provider none of whose groups could be planned or
// applied, with the one error that says why.
type ProviderError struct {
	Provider string `json:"provider"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// BlockProviders blocks every group of the providers in down (provider
// name -> why it cannot be used): their steps are dropped, each is marked
// with an IssueProvider that refers to the provider's error, and the
// provider's error is added once to p.ProviderErrors. Apply then makes no
// call for them. A provider's error may carry a Hint() string, used as the
// fix.
func BlockProviders(p *Plan, down map[string]error) {
	if len(down) == 0 {
		return
	}
	names := make([]string, 0, len(down))
	for name := range down {
		names = append(names, name)
	}
	sort.Strings(names)
	listed := map[string]bool{}
	for _, e := range p.ProviderErrors {
		listed[e.Provider] = true
	}
	for _, name := range names {
		if listed[name] {
			continue
		}
		pe := ProviderError{Provider: name, Message: down[name].Error()}
		var h interface{ Hint() string }
		if errors.As(down[name], &h) {
			pe.Fix = h.Hint()
		}
		p.ProviderErrors = append(p.ProviderErrors, pe)
	}
	for i := range p.Groups {
		g := &p.Groups[i]
		if _, ok := down[g.Provider]; !ok {
			continue
		}
		*g = GroupPlan{Key: g.Key, Provider: g.Provider, Vendor: g.Vendor, Name: g.Name, GroupID: g.GroupID,
			Operator: g.Operator, Owner: g.Owner, Action: ActionReport,
			Errors: []Issue{{Kind: IssueProvider, Message: fmt.Sprintf("provider %s cannot be used (see its error): nothing planned for this group", g.Provider)}}}
	}
	p.Summary = summarise(p.Groups)
}

package spec

import (
	"path/filepath"
	"testing"
)

// TestPruneDefaults: a group's prune is its own, else its provider's; read
// is full only where asked.
func TestPruneDefaults(t *testing.T) {
	const manifest = `version: 1
providers:
  pruned:
    vendor: yunzhijia
    token: ${T}
    operator: 5b503ee9e4b02abb5318b23e
    prune: true
    read: full
  plain:
    vendor: yunzhijia
    token: ${T}
    operator: 5b503ee9e4b02abb5318b23e
    read: members
  coremail:
    vendor: lunkr
    token: ${T}
    prune: false
groups:
  - {key: inherits, provider: pruned}
  - {key: opts-out, provider: pruned, prune: false}
  - {key: plain, provider: plain}
  - {key: opts-in, provider: plain, prune: true}
  - {key: lk, provider: coremail, name: x, members: [a@example.com], prune: false}
`
	m, err := Load(filepath.Join(writeFiles(t, map[string]string{"m.yaml": manifest}), "m.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"inherits": true, "opts-out": false, "plain": false, "opts-in": true, "lk": false}
	for _, g := range m.Groups {
		if g.Prune != want[g.Key] {
			t.Errorf("group %s: Prune = %v, want %v", g.Key, g.Prune, want[g.Key])
		}
	}
	if got := m.Providers["pruned"].Read; got != ReadFull {
		t.Errorf("pruned: Read = %q, want full", got)
	}
	if got := m.Providers["plain"].Read; got != "" {
		t.Errorf("plain: Read = %q, want empty (members)", got)
	}
}

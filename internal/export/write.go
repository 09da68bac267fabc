package export

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"

	"groupsync/internal/printable"
	"groupsync/internal/spec"
)

// maxListed bounds the members or group ids the header names one by one.
const maxListed = 5

// Write writes the manifest: a header comment (when, from what, how many
// groups), version, the provider with WithProviders, the people entries,
// the groups, and a trailing comment listing what could not be read.
func (r *Result) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	r.header(bw)
	fmt.Fprintln(bw, "version: 1")
	if r.opts.WithProviders {
		if err := r.writeProvider(bw); err != nil {
			return err
		}
	}
	if len(r.People) > 0 {
		fmt.Fprintln(bw, "\npeople:")
		for _, p := range r.People {
			var ids []string
			for _, v := range slices.Sorted(maps.Keys(p.IDs)) {
				ids = append(ids, string(v)+": "+scalar(p.IDs[v]))
			}
			fmt.Fprintf(bw, "  %s: {%s}\n", scalar(p.Handle), strings.Join(ids, ", "))
		}
	}
	if len(r.Groups) == 0 {
		fmt.Fprintln(bw, "\ngroups: []")
	} else {
		fmt.Fprintln(bw, "\ngroups:")
	}
	for _, g := range r.Groups {
		fmt.Fprintf(bw, "  - key: %s\n", scalar(g.Key))
		fmt.Fprintf(bw, "    provider: %s\n", scalar(r.provider.Name))
		fmt.Fprintf(bw, "    groupId: %s\n", scalar(g.GroupID))
		if g.Name != "" {
			fmt.Fprintf(bw, "    name: %s\n", scalar(g.Name))
		}
		if g.Type != "" {
			fmt.Fprintf(bw, "    type: %s\n", scalar(g.Type))
		}
		if g.Owner != "" {
			fmt.Fprintf(bw, "    owner: %s\n", scalar(g.Owner))
		}
		list(bw, "members", g.Members)
		list(bw, "subscribers", g.Subscribers)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(bw, "\n# Not exported, %s (export again once fixed):\n", count(len(r.Failures), "failure"))
		for _, f := range r.Failures {
			fmt.Fprintf(bw, "#   %s\n", oneLine(f.Error()))
		}
	}
	return bw.Flush()
}

func (r *Result) header(w io.Writer) {
	o, p := r.opts, r.provider
	fmt.Fprintf(w, "# Exported by `groupsync export` at %s\n", o.Now.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(w, "# from provider %s (%s): %s.\n", p.Name, p.Vendor, oneLine(r.sources()))
	fmt.Fprintf(w, "# %s", count(len(r.Groups), "group"))
	if r.Skipped > 0 {
		fmt.Fprintf(w, " (%d already managed in the -f manifests left out)", r.Skipped)
	}
	if r.Managed > 0 {
		fmt.Fprintf(w, " (%d already managed in the -f manifests: --skip-managed leaves them out)", r.Managed)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "; %s, listed at the end", count(len(r.Failures), "failure"))
	}
	fmt.Fprintln(w, ".")
	fmt.Fprintln(w, "# Every group pins its groupId: a plan adopts them with no vendor call. Keys are")
	fmt.Fprintln(w, "# made from the names: rename them freely before the first apply.")
	if !o.WithProviders {
		fmt.Fprintf(w, "# Plan it with the manifests that define provider %s:\n", p.Name)
		fmt.Fprintln(w, "#   groupsync plan -f <those manifests> -f <this file>")
	}
	fmt.Fprintln(w)
}

// sources says what the groups were found from.
func (r *Result) sources() string {
	o := r.opts
	var parts []string
	if len(o.Members) > 0 {
		parts = append(parts, "the groups of "+listed(o.Members, "user"))
	}
	if len(o.GroupIDs) > 0 {
		parts = append(parts, "the "+listed(o.GroupIDs, "group id"))
	}
	if o.FromState {
		parts = append(parts, "the groups bound in the state")
	}
	return strings.Join(parts, ", ")
}

// listed names up to maxListed items, then counts the rest.
func listed(items []string, what string) string {
	if len(items) > maxListed {
		return count(len(items), what) + " (" + strings.Join(items[:maxListed], ", ") + ", ...)"
	}
	if len(items) == 1 && what != "user" {
		return what + " " + items[0]
	}
	if what == "user" {
		return strings.Join(items, ", ")
	}
	return what + "s " + strings.Join(items, ", ")
}

func list(w io.Writer, field string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "    %s:\n", field)
	for _, s := range items {
		fmt.Fprintf(w, "      - %s\n", scalar(s))
	}
}

// writeProvider copies the provider's entry from the file that defines it,
// comments and all.
func (r *Result) writeProvider(w io.Writer) error {
	p := r.provider
	node, err := providerNode(p)
	if err != nil {
		return err
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: "providers"},
		{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: p.Name}, node}},
	}}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("provider %s: %w", p.Name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("provider %s: %w", p.Name, err)
	}
	fmt.Fprint(w, "\n"+b.String())
	return nil
}

// providerNode finds the value of provider p's entry in the file it was
// defined in.
func providerNode(p *spec.Provider) (*yaml.Node, error) {
	data, err := os.ReadFile(p.Pos.File)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", p.Name, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "providers" || root.Content[i+1].Kind != yaml.MappingNode {
				continue
			}
			ps := root.Content[i+1]
			for j := 0; j+1 < len(ps.Content); j += 2 {
				if k := ps.Content[j]; k.Value == p.Name && k.Line == p.Pos.Line {
					return ps.Content[j+1], nil
				}
			}
		}
	}
	return nil, fmt.Errorf("provider %s: not found in %s", p.Name, p.Pos.File)
}

// scalar writes s as a YAML scalar: as yaml.v3 would (plain, or quoted
// where a plain scalar would read as something else), or double-quoted with
// escapes when s has a character that is not graphic, so that nothing a
// vendor sent can break the file or drive a terminal.
func scalar(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) < 0 {
		out, err := yaml.Marshal(s)
		if str := strings.TrimSuffix(string(out), "\n"); err == nil && !strings.Contains(str, "\n") {
			return str
		}
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsGraphic(r):
			b.WriteRune(r)
		case r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			fmt.Fprintf(&b, `\U%08X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// oneLine makes text safe in a comment line: each of its lines escaped,
// joined with spaces.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = printable.Escape(l)
	}
	return strings.Join(lines, " ")
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

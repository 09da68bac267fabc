package spec

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks one file's yaml.Node tree, recording every problem with its
// place. Its methods never stop at the first error: a bad value is reported
// and skipped, so that one run reports everything.
type decoder struct {
	file string
	errs *ErrorList
	// budget bounds the values visited, so that aliases cannot make a small
	// file expand into an unbounded walk; see spend.
	budget int
	// lineOffset is added to every line: a group parsed alone counts its
	// lines from 1 (see lazyGroups).
	lineOffset int
	// spare is a list of strings done with, for strs to fill again; a group
	// read one at a time gives its members back (see lazyGroups.each).
	spare []scalar
	// preInterned: the values read are interned already (lineParser's).
	preInterned bool
	// interned holds one copy of each handle and field name of the load: a
	// handle is written once per group it is a member of.
	interned map[string]string
}

// intern returns the one copy of b.
func (d *decoder) intern(b []byte) string {
	if s, ok := d.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.interned != nil {
		d.interned[s] = s
	}
	return s
}

// internString is intern for a string.
func (d *decoder) internString(s string) string {
	if t, ok := d.interned[s]; ok {
		return t
	}
	if d.interned != nil {
		d.interned[s] = s
	}
	return s
}

// spend takes one visited value from the budget. Without aliases a file
// never runs out (every value takes bytes of the file); when aliases make it
// run out, the walk stops with one error.
func (d *decoder) spend() bool {
	d.budget--
	if d.budget == -1 {
		d.errs.add(Pos{File: d.file, Line: 1, Col: 1}, "aliases expand this file too far: write the repeated parts out")
	}
	return d.budget >= 0
}

// scalar is a string value with the place it was written; set is false when
// the field was absent or null.
type scalar struct {
	val string
	pos Pos
	set bool
}

func (d *decoder) pos(n *yaml.Node) Pos {
	return Pos{File: d.file, Line: n.Line + d.lineOffset, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.add(d.pos(n), format, args...)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kindName names what n is, for "expected X, got Y" messages. It never
// includes the value, which may be a secret.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!str", "!!timestamp":
			return "a string"
		}
		return "a value tagged " + n.Tag
	}
	return "an unsupported node"
}

// mapping calls fn for each field of the mapping n, in order. It reports a
// non-mapping, non-string keys, duplicate keys (fn sees only the first) and,
// when known is not nil, fields not in known. A null n is an empty mapping.
// It reports false when n is neither a mapping nor null.
func (d *decoder) mapping(n *yaml.Node, what string, known []string, fn func(k, v *yaml.Node)) bool {
	n = deref(n)
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return false
	}
	var seen keysSeen
	for i := 0; i+1 < len(n.Content) && d.spend(); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if !d.key(k, what, known) {
			continue
		}
		if first := seen.find(k.Value); first != nil {
			d.errorf(k, "duplicate key %q in %s (first defined at %s)", k.Value, what, d.pos(first))
			continue
		}
		seen.add(k)
		fn(k, v)
	}
	return true
}

// keysSeen are the keys of one mapping so far: a list while the mapping is
// as small as a group's, a map beyond.
type keysSeen struct {
	list [16]*yaml.Node
	n    int
	m    map[string]*yaml.Node
}

func (s *keysSeen) find(key string) *yaml.Node {
	if s.m != nil {
		return s.m[key]
	}
	for _, k := range s.list[:s.n] {
		if k.Value == key {
			return k
		}
	}
	return nil
}

func (s *keysSeen) add(k *yaml.Node) {
	switch {
	case s.m != nil:
		s.m[k.Value] = k
	case s.n < len(s.list):
		s.list[s.n] = k
		s.n++
	default:
		s.m = make(map[string]*yaml.Node, 2*len(s.list))
		for _, k := range s.list {
			s.m[k.Value] = k
		}
		s.m[k.Value] = k
	}
}

// key reports whether k is an acceptable mapping key of what.
func (d *decoder) key(k *yaml.Node, what string, known []string) bool {
	switch {
	case k.Kind != yaml.ScalarNode || isNull(k):
		d.errorf(k, "%s: keys must be strings, not %s", what, kindName(k))
		return false
	case k.Tag == "!!merge":
		d.errorf(k, "%s: merge keys (<<) are not supported: write the fields out", what)
		return false
	case known != nil && !slices.Contains(known, k.Value):
		d.errorf(k, "unknown field %q in %s%s", k.Value, what, suggest(k.Value, known))
		return false
	}
	return true
}

// suggest returns ": did you mean "x"?" for a near miss, else the list of
// known fields.
func suggest(got string, known []string) string {
	for _, k := range known {
		if editDistance(strings.ToLower(got), strings.ToLower(k)) <= 2 {
			return fmt.Sprintf(": did you mean %q?", k)
		}
	}
	return " (known fields: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// str decodes a string field. Numbers and timestamps are taken as written
// (workspace: 10109 is the string "10109"); booleans, lists and mappings are
// errors. A null value leaves the field unset.
func (d *decoder) str(n *yaml.Node, field string) scalar {
	n = deref(n)
	if isNull(n) {
		return scalar{pos: d.pos(n)}
	}
	if n.Kind == yaml.ScalarNode {
		switch n.Tag {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return scalar{val: n.Value, pos: d.pos(n), set: true}
		}
	}
	d.errorf(n, "%s must be a string, not %s", field, kindName(n))
	return scalar{pos: d.pos(n)}
}

// list calls fn for each item of the list n. A null n is an empty list.
func (d *decoder) list(n *yaml.Node, field string, fn func(item *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list, not %s", field, kindName(n))
		return
	}
	for _, item := range n.Content {
		if !d.spend() {
			return
		}
		fn(item)
	}
}

// strs decodes a list of non-empty strings.
func (d *decoder) strs(n *yaml.Node, field string) []scalar {
	var out []scalar
	if n := deref(n); n.Kind == yaml.SequenceNode {
		if cap(d.spare) >= len(n.Content) {
			out, d.spare = d.spare[:0], nil
		} else {
			out = make([]scalar, 0, len(n.Content))
		}
	}
	what := field + " item"
	d.list(n, field, func(item *yaml.Node) {
		s := d.str(item, what)
		switch {
		case !s.set:
			if isNull(deref(item)) {
				d.errorf(item, "%s: empty item", field)
			}
		case s.val == "":
			d.errorf(item, "%s: empty item", field)
		default:
			if !d.preInterned {
				s.val = d.internString(s.val)
			}
			out = append(out, s)
		}
	})
	return out
}

// number decodes a finite number; ok is false when n is absent or invalid.
func (d *decoder) number(n *yaml.Node, field string) (f float64, ok bool) {
	n = deref(n)
	if isNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		d.errorf(n, "%s must be a number, not %s", field, kindName(n))
		return 0, false
	}
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.errorf(n, "%s must be a finite number", field)
		return 0, false
	}
	return f, true
}

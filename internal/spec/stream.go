package spec

import (
	"bytes"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// A manifest of tens of thousands of groups is mostly its groups: list.
// yaml.v3 would hold the node tree of a whole document at once, and it
// parses slowly, so the groups of a file are read another way when the
// file allows it (see splitGroups):
//
//   - the rest of the file (version, providers, people), with the groups'
//     lines left blank so that every place stays where it was, is parsed by
//     yaml.v3 as before;
//   - each group is read on its own, when its turn comes to be validated,
//     into a small yaml.Node tree that the decoder walks as it walks
//     yaml.v3's, then released. Most groups are read by lineParser, which
//     knows the plain subset of YAML that manifests are written in and
//     declines anything else; a group it declines is parsed by yaml.v3
//     alone.
//
// Anything that could read differently on its own than within the whole
// document (several documents, directives, tabs, carriage returns, a
// byte-order mark, an anchor or alias, a group yaml.v3 cannot parse alone)
// makes the whole file parse as before, so that the manifest, and every
// error with its place, is the same either way.

// lazyGroups are the groups of one file, read one at a time by each.
type lazyGroups struct {
	d     *decoder
	line  int // the line of `groups:`
	data  []byte
	items []lineSpan // one per group, in order
	// parsed holds the groups lineParser declines, parsed by yaml.v3 up
	// front so that a file that does not parse is known before any group
	// is validated; nil entries are read when their turn comes.
	parsed []*yaml.Node
}

// lineSpan is a range of lines of a file: bytes [start, end) starting at
// 1-based line `line`.
type lineSpan struct {
	start, end int
	line       int
}

// each calls fn with every group of the file, in order.
func (l *lazyGroups) each(fn func(*rawGroup)) {
	p := &lineParser{d: l.d}
	for i, it := range l.items {
		var item *yaml.Node
		line := 0
		if n := l.parsed[i]; n != nil {
			item, line = n, it.line-1
		} else if item = p.item(l.data[it.start:it.end], it.line); item == nil {
			continue // cannot happen: splitGroups parsed it
		}
		l.d.lineOffset, l.d.preInterned = line, line == 0
		if l.d.spend() {
			if g := l.d.group(item); g != nil {
				fn(g)
				// Validated: its members' list can hold the next group's.
				l.d.spare = g.members
			}
		}
		l.d.lineOffset, l.d.preInterned = 0, false
	}
	l.parsed, l.items, l.data = nil, nil, nil
}

// splitGroups finds the groups: list of a file that can be read group by
// group. It returns the file with the list's lines blank, and the groups;
// ok is false when the file must be parsed whole.
//
// With check false, the groups are neither checked for lineParser nor
// parsed by yaml.v3 here, nor their bytes checked printable: the caller
// (loadParallel) does that as it reads each group, and loads the files
// again the sequential way when a group fails either.
func splitGroups(d *decoder, data []byte, check bool) (head []byte, lazy *lazyGroups, ok bool) {
	// A byte-order mark, a character YAML does not allow (yaml.v3 refuses
	// the file for it, wherever it is: a comment the groups' lines drop
	// too), a tab, a carriage return or a line break other than \n (the
	// lines would not be what they seem): the file is parsed whole.
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || (check && !printable(data)) {
		return nil, nil, false
	}
	var (
		groupsAt    = -1 // byte offset of the line after "groups:"
		groupsLine  int
		regionStart int
		regionEnd   = -1
		indent      = -1
		items       []lineSpan
	)
	line := 0
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(data)
		}
		line++
		text := data[off:end]
		lineAt := off
		off = next
		if bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("...")) || bytes.HasPrefix(text, []byte("%")) {
			return nil, nil, false
		}
		sp := leadingSpaces(text)
		blank := sp == len(text) || text[sp] == '#'
		if groupsAt < 0 || regionEnd >= 0 {
			if sp == 0 && bytes.HasPrefix(text, []byte("groups")) {
				if groupsAt >= 0 || !isBareKey(text, "groups") {
					return nil, nil, false
				}
				groupsAt, groupsLine, regionStart = next, line, next
			}
			continue
		}
		if blank {
			continue
		}
		if indent < 0 {
			if text[sp] != '-' || !dashItem(text[sp:]) {
				return nil, nil, false
			}
			indent = sp
		}
		switch {
		case sp < indent || (sp == indent && indent == 0 && !dashItem(text)):
			regionEnd = lineAt
			if sp == 0 && bytes.HasPrefix(text, []byte("groups")) {
				return nil, nil, false
			}
		case sp == indent && !dashItem(text[sp:]):
			return nil, nil, false
		case sp == indent:
			if n := len(items); n > 0 {
				items[n-1].end = lineAt
			}
			items = append(items, lineSpan{start: lineAt, line: line})
		}
	}
	if groupsAt < 0 || len(items) == 0 {
		return nil, nil, false
	}
	if regionEnd < 0 {
		regionEnd = len(data)
	}
	items[len(items)-1].end = regionEnd
	// The items cover the list from its first item on and start at lines:
	// the file is printable when these parts and every item are.
	if !check && (!printable(data[:items[0].start]) || !printable(data[regionEnd:])) {
		return nil, nil, false
	}
	// The head: the lines before the list, a blank line for each of its
	// lines, the lines after it.
	blanks := bytes.Count(data[regionStart:regionEnd], []byte("\n"))
	head = make([]byte, 0, regionStart+blanks+len(data)-regionEnd)
	head = append(head, data[:regionStart]...)
	head = append(head, bytes.Repeat([]byte("\n"), blanks)...)
	head = append(head, data[regionEnd:]...)
	lazy = &lazyGroups{d: d, line: groupsLine, data: data, items: items}
	if !check {
		return head, lazy, true
	}
	lazy.parsed = make([]*yaml.Node, len(items))
	// Every group lineParser declines is parsed by yaml.v3 now, alone.
	p := &lineParser{d: d}
	for i, it := range items {
		if p.check(data[it.start:it.end], it.line) {
			continue
		}
		n, ok := parseAlone(data[it.start:it.end])
		if !ok {
			return nil, nil, false
		}
		lazy.parsed[i] = n
	}
	return head, lazy, true
}

// headMatches reports whether the head document parsed as split expects:
// a mapping whose one groups key is the one found at line, with nothing
// under it, and no alias or anchor anywhere.
func headMatches(root *yaml.Node, line int) bool {
	if root.Kind != yaml.MappingNode || hasAnchors(root, 0) {
		return false
	}
	found := 0
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "groups" {
			found++
			if k.Line != line || k.Column != 1 || !isNull(v) || v.Value != "" {
				return false
			}
		}
	}
	return found == 1
}

// hasAnchors reports whether n holds an anchor or an alias.
func hasAnchors(n *yaml.Node, depth int) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || depth > 64 {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c, depth+1) {
			return true
		}
	}
	return false
}

// parseAlone parses one group's lines with yaml.v3: the list of that one
// item. Its lines count from 1; the caller offsets them.
func parseAlone(text []byte) (*yaml.Node, bool) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := decodeNode(dec, &root); err != nil || len(root.Content) != 1 {
		return nil, false
	}
	seq := root.Content[0]
	if seq.Kind != yaml.SequenceNode || len(seq.Content) != 1 || hasAnchors(seq, 0) {
		return nil, false
	}
	var more yaml.Node
	if err := decodeNode(dec, &more); err == nil {
		return nil, false // a second document
	}
	return seq.Content[0], true
}

func leadingSpaces(b []byte) int {
	i := 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

// dashItem reports whether b starts a block list item: "-" then a space or
// the end of the line.
func dashItem(b []byte) bool {
	return len(b) > 0 && b[0] == '-' && (len(b) == 1 || b[1] == ' ')
}

// isBareKey reports whether line is exactly `key:`, maybe followed by
// spaces and a comment.
func isBareKey(line []byte, key string) bool {
	rest, ok := bytes.CutPrefix(line, []byte(key+":"))
	if !ok {
		return false
	}
	sp := leadingSpaces(rest)
	return sp == len(rest) || (sp > 0 && rest[sp] == '#')
}

// lineParser reads one group written in the plain subset of YAML most
// manifests use: a block mapping of `field: value` lines whose values are
// plain or quoted scalars on one line, flow lists [a, b] and flow mappings
// {k: v} of such scalars on one line, or block lists of such items. It
// builds the yaml.Node tree yaml.v3 would (kinds, tags, values, lines and
// columns), and declines (nil) anything else.
type lineParser struct {
	d *decoder
	// checking: only whether the group is read; no tree is kept, no
	// string made.
	checking bool
	dummy    yaml.Node
	// scratch lists, reused: a flow list's items, a block list's items,
	// a flow mapping's pairs, the group's pairs.
	flowItems, blockItems, mapPairs, pairs []*yaml.Node
	line0                                  int
	nodes                                  []yaml.Node // reused from group to group: nothing keeps them
	used                                   int
	ptrs                                   []*yaml.Node
	pused                                  int
}

// check reports whether p reads the group, without building it.
func (p *lineParser) check(text []byte, line int) bool {
	p.checking = true
	defer func() { p.checking = false }()
	return p.item(text, line) != nil
}

func (p *lineParser) node(kind yaml.Kind, tag, value string, line, col int) *yaml.Node {
	if p.checking {
		p.dummy = yaml.Node{Kind: kind, Tag: tag, Value: value}
		return &p.dummy
	}
	if p.used == len(p.nodes) {
		p.nodes = make([]yaml.Node, max(256, 2*len(p.nodes)))
		p.used = 0
	}
	n := &p.nodes[p.used]
	p.used++
	// Field by field: a whole yaml.Node written while the collector marks
	// costs a barrier for each of its pointers. The fields not set here
	// are never set by p.
	n.Kind, n.Tag, n.Value, n.Line, n.Column, n.Content = kind, tag, value, line, col, nil
	return n
}

// content returns room for n children, reused like the nodes.
func (p *lineParser) content(children []*yaml.Node) []*yaml.Node {
	if p.checking {
		return nil
	}
	if len(p.ptrs)-p.pused < len(children) {
		p.ptrs = make([]*yaml.Node, max(1024, 2*len(p.ptrs), len(children)))
		p.pused = 0
	}
	out := p.ptrs[p.pused : p.pused+len(children) : p.pused+len(children)]
	copy(out, children)
	p.pused += len(children)
	return out
}

// item reads one group: its lines start at 1-based line `line` of the file.
func (p *lineParser) item(text []byte, line int) *yaml.Node {
	if !printable(text) {
		return nil
	}
	return p.read(text, line)
}

// read is item for a text known printable.
func (p *lineParser) read(text []byte, line int) *yaml.Node {
	p.used, p.pused = 0, 0
	lines := bytes.Split(bytes.TrimSuffix(text, []byte("\n")), []byte("\n"))
	first := lines[0]
	n := leadingSpaces(first)
	if !dashItem(first[n:]) {
		return nil
	}
	m := n + 1 + leadingSpaces(first[n+1:]) // the mapping's column, 0-based
	if m == n+1 || m >= len(first) || first[m] == '#' {
		return nil
	}
	mapping := p.node(yaml.MappingNode, "!!map", "", line, m+1)
	var (
		pairs   = p.pairs[:0]
		pending *yaml.Node         // a key whose value is the block below it
		field   string             // its name
		items   = p.blockItems[:0] // that block list's items
		seq     *yaml.Node
		seqCol  = -1
	)
	defer func() { p.pairs, p.blockItems = pairs[:0], items[:0] }()
	flush := func() bool {
		if pending == nil {
			return true
		}
		if seq == nil {
			return false // a null value: yaml.v3 places it
		}
		seq.Content = p.content(items)
		pairs = append(pairs, pending, seq)
		pending, seq, items, seqCol = nil, nil, items[:0], -1
		return true
	}
	for i, text := range lines {
		ln := line + i
		sp := leadingSpaces(text)
		if i == 0 {
			sp = m
		} else if sp == len(text) || text[sp] == '#' {
			continue
		}
		switch {
		case pending != nil && sp >= m && dashItem(text[sp:]) && (seqCol < 0 || sp == seqCol):
			if seq == nil {
				seq = p.node(yaml.SequenceNode, "!!seq", "", ln, sp+1)
				seqCol = sp
			}
			start := sp + 1 + leadingSpaces(text[sp+1:])
			if start == sp+1 || start >= len(text) {
				return nil
			}
			v, end := p.value(text, start, ln, field, true)
			if v == nil || !restIsComment(text, end) {
				return nil
			}
			items = append(items, v)
		case sp == m:
			if !flush() {
				return nil
			}
			k, v, ok := p.entry(text, m, ln)
			if !ok {
				return nil
			}
			if v == nil {
				pending, field = k, k.Value
			} else {
				pairs = append(pairs, k, v)
			}
		default:
			return nil
		}
	}
	if !flush() {
		return nil
	}
	mapping.Content = p.content(pairs)
	return mapping
}

// entry reads `key: value` at column col of text; a nil value means the
// value is the block below.
func (p *lineParser) entry(text []byte, col, line int) (k, v *yaml.Node, ok bool) {
	i := col
	for i < len(text) && isWordByte(text[i]) {
		i++
	}
	if i == col || i-col > maxKeyLen || i >= len(text) || text[i] != ':' || (i+1 < len(text) && text[i+1] != ' ') {
		return nil, nil, false
	}
	key := text[col:i]
	if tag := plainTag(key); tag != "!!str" {
		return nil, nil, false
	}
	k = p.node(yaml.ScalarNode, "!!str", fieldName(key), line, col+1)
	j := i + 1 + leadingSpaces(text[i+1:])
	if j >= len(text) || (text[j] == '#' && j > i+1) {
		return k, nil, true
	}
	v, end := p.value(text, j, line, k.Value, false)
	if v == nil || !restIsComment(text, end) {
		return nil, nil, false
	}
	return k, v, true
}

// maxKeyLen is the longest key lineParser reads: yaml.v3 refuses a key of
// more than 1,024 characters.
const maxKeyLen = 1000

// strFields are the group fields whose value is read as a string: a
// number there reads as its text, as yaml.v3's does.
var strFields = map[string]bool{"key": true, "provider": true, "name": true, "owner": true, "type": true, "groupId": true}

// value reads the value starting at text[i] of field (inList: an item of
// field's block list) and returns it with the offset after it.
func (p *lineParser) value(text []byte, i, line int, field string, inList bool) (*yaml.Node, int) {
	switch c := text[i]; {
	case c == '[' && !inList:
		return p.flowList(text, i, line, field)
	case c == '{' && inList && (field == "notices" || field == "banners"):
		return p.flowMap(text, i, line)
	case inList && (field == "notices" || field == "banners"):
		return nil, 0 // a scalar where a mapping belongs: yaml.v3 says what it is
	case c == '"' || c == '\'':
		return p.quoted(text, i, line)
	default:
		s, end := plainEnd(text, i, false)
		if end < 0 {
			return nil, 0
		}
		tag := plainTag(s)
		switch {
		case tag == "" && (inList || strFields[field]):
			tag = "!!str" // int, float or timestamp: read as written all the same
		case tag == "":
			return nil, 0
		case tag == "!!str" && field == "prune" && !inList:
			return nil, 0
		}
		return p.node(yaml.ScalarNode, tag, p.str(s, inList), line, i+1), end
	}
}

// str is the value of a scalar: list items (handles, mostly) interned.
func (p *lineParser) str(b []byte, intern bool) string {
	switch {
	case p.checking:
		return ""
	case intern:
		return p.d.intern(b)
	}
	return string(b)
}

// fieldName is a field's name, with no new string for the known ones.
func fieldName(b []byte) string {
	switch string(b) {
	case "key":
		return "key"
	case "provider":
		return "provider"
	case "name":
		return "name"
	case "owner":
		return "owner"
	case "members":
		return "members"
	case "subscribers":
		return "subscribers"
	case "type":
		return "type"
	case "notices":
		return "notices"
	case "banners":
		return "banners"
	case "groupId":
		return "groupId"
	case "previously":
		return "previously"
	case "prune":
		return "prune"
	case "title":
		return "title"
	case "content":
		return "content"
	}
	return string(b)
}

// flowList reads [a, b, ...] of scalars on one line.
func (p *lineParser) flowList(text []byte, i, line int, field string) (*yaml.Node, int) {
	if field == "notices" || field == "banners" {
		return nil, 0 // items that must be mappings: yaml.v3 says what they are
	}
	seq := p.node(yaml.SequenceNode, "!!seq", "", line, i+1)
	items := p.flowItems[:0]
	defer func() { p.flowItems = items[:0] }()
	i++
	for {
		i += leadingSpaces(text[i:])
		if i >= len(text) {
			return nil, 0
		}
		if text[i] == ']' && len(items) == 0 {
			i++
			break
		}
		var v *yaml.Node
		switch text[i] {
		case '"', '\'':
			v, i = p.quoted(text, i, line)
		default:
			s, end := plainEnd(text, i, true)
			if end < 0 {
				return nil, 0
			}
			tag := plainTag(s)
			if tag == "" {
				tag = "!!str" // read as written (an item of a list of strings)
			}
			v, i = p.node(yaml.ScalarNode, tag, p.str(s, true), line, i+1), end
		}
		if v == nil {
			return nil, 0
		}
		items = append(items, v)
		var done, ok bool
		if i, done, ok = flowNext(text, i, ']'); !ok {
			return nil, 0
		}
		if done {
			break
		}
	}
	seq.Content = p.content(items)
	return seq, i
}

// flowMap reads {k: v, ...} of scalars on one line.
func (p *lineParser) flowMap(text []byte, i, line int) (*yaml.Node, int) {
	m := p.node(yaml.MappingNode, "!!map", "", line, i+1)
	pairs := p.mapPairs[:0]
	defer func() { p.mapPairs = pairs[:0] }()
	i++
	for {
		i += leadingSpaces(text[i:])
		if i >= len(text) {
			return nil, 0
		}
		if text[i] == '}' && len(pairs) == 0 {
			i++
			break
		}
		ks := i
		for i < len(text) && isWordByte(text[i]) {
			i++
		}
		if i == ks || i-ks > maxKeyLen || i+1 >= len(text) || text[i] != ':' || text[i+1] != ' ' || plainTag(text[ks:i]) != "!!str" {
			return nil, 0
		}
		k := p.node(yaml.ScalarNode, "!!str", fieldName(text[ks:i]), line, ks+1)
		i += 1 + leadingSpaces(text[i+1:])
		if i >= len(text) {
			return nil, 0
		}
		var v *yaml.Node
		switch text[i] {
		case '"', '\'':
			v, i = p.quoted(text, i, line)
		default:
			s, end := plainEnd(text, i, true)
			if end < 0 {
				return nil, 0
			}
			tag := plainTag(s)
			if tag == "" {
				tag = "!!str" // read as written: every field of a notice or banner is a string
			}
			v, i = p.node(yaml.ScalarNode, tag, p.str(s, false), line, i+1), end
		}
		if v == nil {
			return nil, 0
		}
		pairs = append(pairs, k, v)
		var done, ok bool
		if i, done, ok = flowNext(text, i, '}'); !ok {
			return nil, 0
		}
		if done {
			break
		}
	}
	m.Content = p.content(pairs)
	return m, i
}

// quoted reads a quoted scalar closed on its line: double-quoted without
// escapes, or single-quoted (” is a quote).
func (p *lineParser) quoted(text []byte, i, line int) (*yaml.Node, int) {
	q := text[i]
	var val []byte
	j := i + 1
	for {
		k := bytes.IndexByte(text[j:], q)
		if k < 0 {
			return nil, 0
		}
		if q == '"' && bytes.IndexByte(text[j:j+k], '\\') >= 0 {
			return nil, 0
		}
		val = append(val, text[j:j+k]...)
		j += k + 1
		if q == '\'' && j < len(text) && text[j] == '\'' {
			val = append(val, '\'')
			j++
			continue
		}
		break
	}
	return p.node(yaml.ScalarNode, "!!str", p.str(val, false), line, i+1), j
}

// flowNext reads what follows an item of a flow list or mapping closed by
// close: a comma and the next item (i after the comma), or close (done, i
// after it). ok is false for anything else, a trailing comma included.
func flowNext(text []byte, i int, close byte) (next int, done, ok bool) {
	i += leadingSpaces(text[i:])
	switch {
	case i >= len(text):
		return 0, false, false
	case text[i] == close:
		return i + 1, true, true
	case text[i] != ',':
		return 0, false, false
	}
	i++
	if j := i + leadingSpaces(text[i:]); j < len(text) && text[j] == close {
		return 0, false, false // a trailing comma
	}
	return i, false, true
}

// plainEnd finds the end of a plain scalar starting at text[i] and returns
// it trimmed, or -1 for what this parser does not read: a scalar starting
// with an indicator, holding ": " (or, in a flow, a colon at all), a " #"
// comment is where it stops.
func plainEnd(text []byte, i int, flow bool) ([]byte, int) {
	switch text[i] {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '<':
		return nil, -1
	}
	j := i
	for j < len(text) {
		c := text[j]
		if flow && (c == ',' || c == ']' || c == '}' || c == '[' || c == '{' || c == ':') {
			if c == ':' {
				return nil, -1
			}
			break
		}
		if c == ':' && (j+1 == len(text) || text[j+1] == ' ') {
			return nil, -1
		}
		if c == '#' && text[j-1] == ' ' {
			break
		}
		j++
	}
	end := j
	for end > i && text[end-1] == ' ' {
		end--
	}
	if end == i {
		return nil, -1
	}
	return text[i:end], end
}

// restIsComment reports whether text after i is spaces, maybe followed by
// a comment.
func restIsComment(text []byte, i int) bool {
	sp := leadingSpaces(text[i:])
	return i+sp == len(text) || (sp > 0 && text[i+sp] == '#')
}

// plainTag is the tag yaml.v3 resolves a plain scalar to, or "" when it
// may be a number or a timestamp (it starts with a digit, a sign or a dot).
func plainTag(s []byte) string {
	switch string(s) {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "~", "null", "Null", "NULL":
		return "!!null"
	case "<<":
		return "!!merge"
	}
	switch c := s[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		return ""
	}
	return "!!str"
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// printable reports whether text holds only characters YAML allows in a
// file and no line break but '\n' (yaml.v3 breaks lines at U+0085, U+2028
// and U+2029 too).
func printable(text []byte) bool {
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		switch {
		case r == utf8.RuneError && size == 1, r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xfeff,
			r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
			return false
		}
		i += size
	}
	return true
}

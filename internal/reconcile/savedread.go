package reconcile

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
	"unicode/utf8"
)

// ReadSaved reads a saved plan file from r, as DecodeSaved reads its bytes,
// with the same result and the same errors, but streaming: a plan as
// groupsync writes it is decoded in one pass without the file's bytes in
// memory and with its repeated strings (handles, ids) shared. Anything
// else (a corrupt or edited file, an unknown field, a field given twice)
// is read again from where r was, whole, and decoded by encoding/json as
// before: the one decoder that says what is wrong.
func ReadSaved(r io.ReadSeeker) (*Plan, error) {
	p, _, err := readSaved(r)
	return p, err
}

// readSaved is ReadSaved, saying whether the one pass decoded the file.
func readSaved(r io.ReadSeeker) (*Plan, bool, error) {
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false, err
	}
	p, err := decodeFast(r)
	if _, slow := err.(errSlow); !slow {
		if err != nil {
			return nil, false, err // the reader failed
		}
		if p.FormatVersion != FormatVersion {
			return nil, true, &FormatVersionError{Have: p.FormatVersion}
		}
		p.derive()
		return p, true, nil
	}
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil, false, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, false, err
	}
	p, err = DecodeSaved(data)
	return p, false, err
}

// errSlow is where the one-pass decoder gives up: what encoding/json
// decodes (or refuses) in ways it does not follow.
type errSlow struct{}

func (errSlow) Error() string { return "not a saved plan as groupsync writes one" }

// readFailure carries the reader's error out of the decoder.
type readFailure struct{ err error }

// The fields of each type, as their json tags name them, in their order.
// TestSavedFieldsAreTheTags keeps them in step with the types: a field
// missing here would send every plan that has it to encoding/json.
var (
	planFields          = []string{"formatVersion", "createdAt", "manifestFiles", "manifestDigest", "stateSerial", "stateLineage", "refreshed", "cache", "groups", "orphans", "providerErrors", "summary"}
	cacheFields         = []string{"oldest", "newest"}
	summaryFields       = []string{"create", "adopt", "addMembers", "notices", "banners", "drift", "errors", "inSync", "writeCalls", "stateWrites", "removeMembers", "renames", "ownerChanges"}
	memberFields        = []string{"handle", "id"}
	groupFields         = []string{"key", "provider", "vendor", "name", "action", "groupId", "operator", "owner", "bind", "create", "addMembers", "notices", "banners", "removeMembers", "rename", "setOwner", "oneUpdate", "drift", "errors", "sameNameOrphans"}
	bindFields          = []string{"kind", "groupId", "from", "intentId", "reason"}
	createFields        = []string{"name", "type", "members", "subscribers", "id", "intentId"}
	postFields          = []string{"hash", "title", "notice", "banner"}
	noticeFields        = []string{"title", "content"}
	bannerFields        = []string{"content", "title", "lightAppId", "thumbUrl", "webpageUrl", "primaryContent", "contentUrl"}
	driftFields         = []string{"kind", "members", "live", "desired", "fix"}
	issueFields         = []string{"kind", "message", "fix"}
	providerErrorFields = []string{"provider", "message", "fix"}
)

// decodeFast decodes the subset of JSON encoding/json decodes the obvious
// way into a fresh Plan: every key one of its type's fields exactly and
// given once, every value of its field's type (or null, which leaves the
// field zero), numbers integers. json.Unmarshal gives the same Plan for it
// (FuzzReadSaved checks); for anything else it returns errSlow.
func decodeFast(r io.Reader) (p *Plan, err error) {
	d := &savedDecoder{r: r, buf: make([]byte, 64<<10), strs: make(map[string]string, 1024)}
	defer func() {
		switch e := recover().(type) {
		case nil:
		case errSlow:
			p, err = nil, e
		case readFailure:
			p, err = nil, e.err
		default:
			panic(e)
		}
	}()
	p = &Plan{}
	if d.next() != '{' {
		d.slow()
	}
	d.plan(p)
	if d.next(); d.pos != d.end {
		d.slow() // more after the document
	}
	return p, nil
}

// savedDecoder reads JSON from r through buf, of which buf[pos:end] is
// still to be read.
type savedDecoder struct {
	r        io.Reader
	buf      []byte
	pos, end int
	eof      bool
	escaped  bool              // the last string read had an escape
	strs     map[string]string // the repeated strings, shared
	quoted   []byte            // a time's string, quoted again
	scratch  []Member          // the list of members being read
}

func (d *savedDecoder) slow() { panic(errSlow{}) }

// fill reads more after buf[pos:end], moved to the start of buf (grown when
// it is full); false at the end of the input.
func (d *savedDecoder) fill() bool {
	if d.eof {
		return false
	}
	if d.pos > 0 {
		d.end = copy(d.buf, d.buf[d.pos:d.end])
		d.pos = 0
	}
	if d.end == len(d.buf) {
		d.buf = append(d.buf, make([]byte, len(d.buf))...)
	}
	for {
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		switch {
		case err == io.EOF:
			d.eof = true
			return n > 0
		case err != nil:
			panic(readFailure{err})
		case n > 0:
			return true
		}
	}
}

// at returns the byte off bytes past pos, 0 past the end of the input.
func (d *savedDecoder) at(off int) byte {
	for d.pos+off >= d.end {
		if !d.fill() {
			return 0
		}
	}
	return d.buf[d.pos+off]
}

// next skips white space and returns the next byte, not read; 0 at the end.
func (d *savedDecoder) next() byte {
	for {
		for i, c := range d.buf[d.pos:d.end] {
			if c > ' ' || c != ' ' && c != '\n' && c != '\t' && c != '\r' {
				d.pos += i
				return c
			}
		}
		d.pos = d.end
		if !d.fill() {
			return 0
		}
	}
}

// null reads a null if one is next.
func (d *savedDecoder) null() bool {
	if d.next() != 'n' {
		return false
	}
	d.literal("null")
	return true
}

func (d *savedDecoder) literal(s string) {
	for i := range len(s) {
		if d.at(i) != s[i] {
			d.slow()
		}
	}
	d.pos += len(s)
}

// object reads an object of the given fields, calling value for each with
// its value next; a null leaves the field zero, as json.Unmarshal does in
// a fresh value.
func (d *savedDecoder) object(fields []string, value func(i int)) {
	if d.next() != '{' {
		d.slow()
	}
	d.pos++
	if d.next() == '}' {
		d.pos++
		return
	}
	var seen uint64
	for {
		// The key is matched before anything more is read: it is a view of buf.
		k := d.strBytes()
		i := 0
		for i < len(fields) && string(k) != fields[i] {
			i++
		}
		if i == len(fields) || seen&(1<<i) != 0 {
			d.slow()
		}
		seen |= 1 << i
		if d.next() != ':' {
			d.slow()
		}
		d.pos++
		if !d.null() {
			value(i)
		}
		switch d.next() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return
		default:
			d.slow()
		}
	}
}

// array reads an array, calling elem for each element; false for null.
func (d *savedDecoder) array(elem func()) bool {
	if d.null() {
		return false
	}
	if d.next() != '[' {
		d.slow()
	}
	d.pos++
	if d.next() == ']' {
		d.pos++
		return true
	}
	for {
		elem()
		switch d.next() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return true
		default:
			d.slow()
		}
	}
}

// strBytes reads a string and returns it unescaped: a view of buf, valid
// until the next read, when it had no escape.
func (d *savedDecoder) strBytes() []byte {
	if d.next() != '"' {
		d.slow()
	}
	d.escaped = false
	// Most strings: no escape, ASCII or valid UTF-8.
	off := 1
	for {
		if q := bytes.IndexByte(d.buf[d.pos+off:d.end], '"'); q >= 0 {
			s := d.buf[d.pos+1 : d.pos+off+q]
			if bytes.IndexByte(s, '\\') >= 0 {
				break
			}
			ascii := true
			for _, c := range s {
				if c < 0x20 {
					d.slow()
				}
				if c >= utf8.RuneSelf {
					ascii = false
				}
			}
			if !ascii && !utf8.Valid(s) {
				break
			}
			d.pos += off + q + 1
			return s
		}
		off = d.end - d.pos
		if !d.fill() {
			d.slow()
		}
	}
	// An escape or invalid UTF-8: find the closing quote, then let
	// encoding/json unquote the token its own way.
	d.escaped = true
	off = 1
	for {
		switch c := d.at(off); {
		case c == '"':
			var s string
			if json.Unmarshal(d.buf[d.pos:d.pos+off+1], &s) != nil {
				d.slow()
			}
			d.pos += off + 1
			return []byte(s)
		case c == '\\':
			off += 2
		case c < 0x20: // the end of the input too
			d.slow()
		default:
			off++
		}
	}
}

func (d *savedDecoder) str() string { return string(d.strBytes()) }

// shared reads a string that repeats across the plan (a handle, an id, a
// provider): every copy is one string.
func (d *savedDecoder) shared() string {
	b := d.strBytes()
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *savedDecoder) strings() []string {
	out := []string{}
	if !d.array(func() {
		if d.null() {
			out = append(out, "")
			return
		}
		out = append(out, d.shared())
	}) {
		return nil
	}
	return out
}

// int64 reads an integer: digits, no fraction or exponent, that fits.
func (d *savedDecoder) int64() int64 {
	d.next()
	off := 0
	neg := d.at(0) == '-'
	if neg {
		off++
	}
	var n int64
	switch c := d.at(off); {
	case c == '0':
		off++
	case c >= '1' && c <= '9':
		first := off
		for c := d.at(off); c >= '0' && c <= '9'; c = d.at(off) {
			if off-first == 18 {
				d.slow() // 19 digits may not fit: encoding/json says so
			}
			n = n*10 + int64(c-'0')
			off++
		}
	default:
		d.slow()
	}
	if c := d.at(off); c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
		d.slow()
	}
	d.pos += off
	if neg {
		n = -n
	}
	return n
}

func (d *savedDecoder) int() int {
	n := d.int64()
	if int64(int(n)) != n {
		d.slow()
	}
	return int(n)
}

func (d *savedDecoder) bool() bool {
	switch d.next() {
	case 't':
		d.literal("true")
		return true
	case 'f':
		d.literal("false")
		return false
	}
	d.slow()
	return false
}

// time reads a time as encoding/json does: the string, quoted, to
// time.Time.UnmarshalJSON, which does not unescape.
func (d *savedDecoder) time() time.Time {
	s := d.strBytes()
	if d.escaped {
		d.slow()
	}
	d.quoted = append(append(append(d.quoted[:0], '"'), s...), '"')
	var t time.Time
	if t.UnmarshalJSON(d.quoted) != nil {
		d.slow()
	}
	return t
}

func (d *savedDecoder) plan(p *Plan) {
	d.object(planFields, func(i int) {
		switch i {
		case 0:
			p.FormatVersion = d.int()
		case 1:
			p.CreatedAt = d.time()
		case 2:
			p.ManifestFiles = d.strings()
		case 3:
			p.ManifestDigest = d.str()
		case 4:
			p.StateSerial = d.int64()
		case 5:
			p.StateLineage = d.str()
		case 6:
			p.Refreshed = d.bool()
		case 7:
			p.Cache = &CacheSpan{}
			d.object(cacheFields, func(i int) {
				if i == 0 {
					p.Cache.Oldest = d.time()
				} else {
					p.Cache.Newest = d.time()
				}
			})
		case 8:
			p.Groups = d.groups()
		case 9:
			p.Orphans = d.strings()
		case 10:
			p.ProviderErrors = d.providerErrors()
		case 11:
			d.summary(&p.Summary)
		}
	})
}

func (d *savedDecoder) summary(s *Summary) {
	d.object(summaryFields, func(i int) {
		n := d.int()
		*[]*int{&s.Create, &s.Adopt, &s.AddMembers, &s.Notices, &s.Banners, &s.Drift, &s.Errors, &s.InSync,
			&s.WriteCalls, &s.StateWrites, &s.RemoveMembers, &s.Renames, &s.OwnerChanges}[i] = n
	})
}

// groups reads the groups in chunks, then into one slice of their
// number: appending one by one would allocate five times its size.
func (d *savedDecoder) groups() []GroupPlan {
	const chunk = 1024
	var chunks [][]GroupPlan
	n := 0
	if !d.array(func() {
		if n%chunk == 0 {
			chunks = append(chunks, make([]GroupPlan, chunk))
		}
		if !d.null() {
			d.group(&chunks[n/chunk][n%chunk])
		}
		n++
	}) {
		return nil
	}
	out := make([]GroupPlan, 0, n)
	for _, c := range chunks {
		out = append(out, c[:min(chunk, n-len(out))]...)
	}
	return out
}

func (d *savedDecoder) group(g *GroupPlan) {
	d.object(groupFields, func(i int) {
		switch i {
		case 0:
			g.Key = d.str()
		case 1:
			g.Provider = d.shared()
		case 2:
			g.Vendor = d.shared()
		case 3:
			g.Name = d.str()
		case 4:
			g.Action = Action(d.shared())
		case 5:
			g.GroupID = d.str()
		case 6:
			g.Operator = d.shared()
		case 7:
			g.Owner = d.memberPtr()
		case 8:
			g.Bind = d.bind()
		case 9:
			g.Create = d.create()
		case 10:
			g.Add = d.members()
		case 11:
			g.Notices = d.posts()
		case 12:
			g.Banners = d.posts()
		case 13:
			g.Remove = d.members()
		case 14:
			g.Rename = d.str()
		case 15:
			g.SetOwner = d.memberPtr()
		case 16:
			g.OneUpdate = d.bool()
		case 17:
			g.Drift = d.drift()
		case 18:
			g.Errors = d.issues()
		case 19:
			g.SameNameOrphans = d.strings()
		}
	})
}

func (d *savedDecoder) member(m *Member) {
	d.object(memberFields, func(i int) {
		if i == 0 {
			m.Handle = d.shared()
		} else {
			m.ID = d.shared()
		}
	})
}

func (d *savedDecoder) memberPtr() *Member {
	m := &Member{}
	d.member(m)
	return m
}

// members reads a list of members into d.scratch, then into a slice of
// its length: a create's 200 members are one allocation, not ten.
func (d *savedDecoder) members() []Member {
	d.scratch = d.scratch[:0]
	if !d.array(func() {
		d.scratch = append(d.scratch, Member{})
		if !d.null() {
			d.member(&d.scratch[len(d.scratch)-1])
		}
	}) {
		return nil
	}
	return append(make([]Member, 0, len(d.scratch)), d.scratch...)
}

func (d *savedDecoder) bind() *Bind {
	b := &Bind{}
	d.object(bindFields, func(i int) {
		switch i {
		case 0:
			b.Kind = BindKind(d.shared())
		case 1:
			b.GroupID = d.str()
		case 2:
			b.From = d.str()
		case 3:
			b.IntentID = d.int64()
		case 4:
			b.Reason = d.shared()
		}
	})
	return b
}

func (d *savedDecoder) create() *CreateStep {
	c := &CreateStep{}
	d.object(createFields, func(i int) {
		switch i {
		case 0:
			c.Name = d.str()
		case 1:
			c.Type = d.shared()
		case 2:
			c.Members = d.members()
		case 3:
			c.Subscribers = d.members()
		case 4:
			c.ID = d.str()
		case 5:
			c.IntentID = d.int64()
		}
	})
	return c
}

// objects decodes a list of objects of fields into Ts: set decodes field
// i of the T at x. A null element is a zero T; a null list is nil.
func objects[T any](d *savedDecoder, fields []string, set func(x *T, i int)) []T {
	out := []T{}
	if !d.array(func() {
		var zero T
		out = append(out, zero)
		if d.null() {
			return
		}
		x := &out[len(out)-1]
		d.object(fields, func(i int) { set(x, i) })
	}) {
		return nil
	}
	return out
}

func (d *savedDecoder) posts() []PostStep {
	return objects(d, postFields, func(s *PostStep, i int) {
		switch i {
		case 0:
			s.Hash = d.shared()
		case 1:
			s.Title = d.shared()
		case 2:
			s.Notice = &Notice{}
			d.object(noticeFields, func(i int) {
				if i == 0 {
					s.Notice.Title = d.shared()
				} else {
					s.Notice.Content = d.shared()
				}
			})
		case 3:
			b := &Banner{}
			s.Banner = b
			d.object(bannerFields, func(i int) {
				*[]*string{&b.Content, &b.Title, &b.LightAppID, &b.ThumbURL, &b.WebpageURL, &b.PrimaryContent, &b.ContentURL}[i] = d.shared()
			})
		}
	})
}

func (d *savedDecoder) drift() []Drift {
	return objects(d, driftFields, func(x *Drift, i int) {
		switch i {
		case 0:
			x.Kind = DriftKind(d.shared())
		case 1:
			x.Members = d.members()
		case 2:
			x.Live = d.str()
		case 3:
			x.Desired = d.str()
		case 4:
			x.Fix = d.shared()
		}
	})
}

func (d *savedDecoder) issues() []Issue {
	return objects(d, issueFields, func(x *Issue, i int) {
		switch i {
		case 0:
			x.Kind = IssueKind(d.shared())
		case 1:
			x.Message = d.shared()
		case 2:
			x.Fix = d.shared()
		}
	})
}

func (d *savedDecoder) providerErrors() []ProviderError {
	return objects(d, providerErrorFields, func(x *ProviderError, i int) {
		switch i {
		case 0:
			x.Provider = d.shared()
		case 1:
			x.Message = d.str()
		case 2:
			x.Fix = d.str()
		}
	})
}

package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"groupsync/internal/spec"
	"groupsync/internal/state"
)

// richPlan has every kind of step and field, and characters json escapes:
// HTML, U+2028, control characters, invalid UTF-8, quotes and backslashes.
func richPlan() *Plan {
	n := Notice{Title: "值班 <on call> & \"more\"", Content: "see https://x.example.com/?a=1&b=<2>\u2028next\\line\x01\x7f"}
	b := Banner{Title: "Banner\u2029", Content: "内容", LightAppID: "app", ThumbURL: "https://t.example.com/a.png?x=1&y=2",
		WebpageURL: "https://w.example.com", PrimaryContent: "主", ContentURL: "https://c.example.com"}
	p := &Plan{FormatVersion: FormatVersion, CreatedAt: time.Date(2026, 11, 29, 11, 14, 27, 517425262, time.FixedZone("CST", 8*3600)),
		ManifestFiles:  []string{"groups.yaml", "dir/更多 <groups>.yaml"},
		ManifestDigest: "abc", StateSerial: 1 << 40, StateLineage: "lineage",
		Cache:          &CacheSpan{Oldest: t0, Newest: t0.Add(time.Hour)},
		Orphans:        []string{"old-key", "另一个"},
		ProviderErrors: []ProviderError{{Provider: "coremail", Message: "no token \xff\xfe", Fix: "set LUNKR_TOKEN"}},
		Groups: []GroupPlan{
			{Key: "create", Provider: "kingdee", Vendor: "yunzhijia", Name: "发布讨论组", GroupID: Placeholder, Operator: alice,
				Owner:   &Member{Handle: "alice", ID: alice},
				Create:  &CreateStep{Name: "发布讨论组", Type: "topic", Members: []Member{{Handle: "bob", ID: bob}, {ID: carol}}, Subscribers: []Member{{ID: other}}},
				Notices: []PostStep{{Hash: ContentHash(n), Title: n.Title, Notice: &n}},
				Banners: []PostStep{{Hash: ContentHash(b), Title: b.Title, Banner: &b}}, SameNameOrphans: []string{"old-key"}},
			{Key: "resend", Provider: "wecom", Vendor: "wecom", Name: "chat", GroupID: Placeholder,
				Create: &CreateStep{Name: "chat", Members: []Member{}, ID: "wr0123", IntentID: 9}},
			{Key: "adds", Provider: "kingdee", Vendor: "yunzhijia", GroupID: yzjID, Add: []Member{{Handle: "bob", ID: bob}},
				Remove: []Member{{ID: "5b0000000000000000000000"}}, Drift: []Drift{{Kind: DriftExtraMember, Members: []Member{{ID: other}}, Fix: "remove by hand"}}},
			{Key: "adopt", Provider: "kingdee", Vendor: "yunzhijia", GroupID: yzjID, Bind: &Bind{Kind: BindAdopt, GroupID: yzjID, Reason: "pinned"}},
			{Key: "rename", Provider: "kingdee", Vendor: "yunzhijia", GroupID: yzjID, Bind: &Bind{Kind: BindRename, GroupID: yzjID, From: "old", Reason: "previously"}},
			{Key: "recover", Provider: "coremail", Vendor: "lunkr", GroupID: "10503", Bind: &Bind{Kind: BindRecover, GroupID: "10503", IntentID: 7, Reason: "found"}},
			{Key: "wecom", Provider: "wecom", Vendor: "wecom", GroupID: "wr1", Rename: "新名字", SetOwner: &Member{Handle: "carol", ID: "carol"}, OneUpdate: true,
				Add: []Member{{ID: "dave"}}},
			{Key: "blocked", Provider: "coremail", Vendor: "lunkr", GroupID: "10504",
				Errors: []Issue{{Kind: IssueReadFailed, Message: "read: 503 <html>", Fix: "try again"}, {Kind: IssueUnknownCreate, Message: "m"}},
				Drift:  []Drift{{Kind: DriftName, Live: "old", Desired: "运维", Fix: "rename by hand"}}},
			{Key: "in-sync", Provider: "kingdee", Vendor: "yunzhijia", GroupID: yzjID},
		},
	}
	p.derive()
	return p
}

// TestWriteSavedIsEncodeSaved: the streamed file is EncodeSaved's, byte for
// byte, on plans of every shape.
func TestWriteSavedIsEncodeSaved(t *testing.T) {
	built := build([]*spec.Group{yzjGroup("eng", alice, bob), lunkrGroup("ops", "a@example.com")},
		bound("eng", "kingdee", yzjID), map[string]Observation{"eng": {GroupID: yzjID, Group: live(yzjID, alice)}},
		[]state.Intent{{ID: 7, Key: "ops", Provider: "coremail", Kind: state.IntentCreate, Name: "运维", StartedAt: t0}}, nil)
	one := richPlan()
	one.Groups = one.Groups[:1]
	empty := richPlan()
	empty.Groups = []GroupPlan{}
	none := richPlan()
	none.Groups, none.Cache, none.ProviderErrors = nil, nil, nil
	for _, tt := range []struct {
		name string
		p    *Plan
	}{
		{"every field", richPlan()},
		{"built", built},
		{"one group", one},
		{"no groups", empty},
		{"nil groups", none},
		{"zero", &Plan{}},
		{"bench", benchPlan(300)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want, err := EncodeSaved(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteSaved(&got, tt.p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteSaved differs from EncodeSaved:\n%s\nwant:\n%s", got.Bytes(), want)
			}
		})
	}
}

// failWriter fails once n bytes were written.
type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(b)
	return len(b), nil
}

// TestWriteSavedWriteError: a failed write is returned, wherever it falls.
func TestWriteSavedWriteError(t *testing.T) {
	p := richPlan()
	data, _ := EncodeSaved(p)
	for _, n := range []int{0, 10, len(data) / 2, len(data) - 3, len(data) - 1} {
		if err := WriteSaved(&failWriter{n: n}, p); err == nil {
			t.Errorf("a write failing after %d bytes: no error", n)
		}
	}
	if err := WriteSaved(&failWriter{n: len(data)}, p); err != nil {
		t.Errorf("all %d bytes written: %v", len(data), err)
	}
}

// TestSavedFieldsAreTheTags: the one-pass decoder knows every field of the
// plan's types, by the names their json tags give, in order.
func TestSavedFieldsAreTheTags(t *testing.T) {
	for _, tt := range []struct {
		v      any
		fields []string
	}{
		{Plan{}, planFields}, {CacheSpan{}, cacheFields}, {Summary{}, summaryFields}, {Member{}, memberFields},
		{GroupPlan{}, groupFields}, {Bind{}, bindFields}, {CreateStep{}, createFields}, {PostStep{}, postFields},
		{Notice{}, noticeFields}, {Banner{}, bannerFields}, {Drift{}, driftFields}, {Issue{}, issueFields},
		{ProviderError{}, providerErrorFields},
	} {
		typ := reflect.TypeOf(tt.v)
		var tags []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				t.Errorf("%s.%s: no json name; the decoder reads named fields only", typ.Name(), f.Name)
			}
			tags = append(tags, name)
		}
		if !slices.Equal(tags, tt.fields) {
			t.Errorf("%s: the decoder reads %q, the type has %q", typ.Name(), tt.fields, tags)
		}
	}
}

// samePlan reports whether a and b are the same plan, their times equal
// and in the same zone (a zone is a pointer DeepEqual would compare).
func samePlan(t *testing.T, a, b *Plan) bool {
	t.Helper()
	if (a == nil) != (b == nil) {
		return false
	}
	if a == nil {
		return true
	}
	sameTime := func(x, y time.Time) bool { return x.Equal(y) && x.String() == y.String() }
	ac, bc := *a, *b
	if !sameTime(ac.CreatedAt, bc.CreatedAt) {
		return false
	}
	ac.CreatedAt, bc.CreatedAt = time.Time{}, time.Time{}
	if (ac.Cache == nil) != (bc.Cache == nil) {
		return false
	}
	if ac.Cache != nil {
		if !sameTime(ac.Cache.Oldest, bc.Cache.Oldest) || !sameTime(ac.Cache.Newest, bc.Cache.Newest) {
			return false
		}
		ac.Cache, bc.Cache = &CacheSpan{}, &CacheSpan{}
	}
	return reflect.DeepEqual(&ac, &bc)
}

// chunkReader reads at most n bytes a call, so that every token falls
// across the decoder's reads somewhere.
type chunkReader struct {
	r *bytes.Reader
	n int
}

func (c *chunkReader) Read(b []byte) (int, error) {
	if len(b) > c.n {
		b = b[:c.n]
	}
	return c.r.Read(b)
}

func (c *chunkReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// TestReadSavedIsDecodeSaved: a plan groupsync wrote is decoded in one
// pass, into what DecodeSaved makes of it, however the reads fall.
func TestReadSavedIsDecodeSaved(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    *Plan
	}{
		{"every field", richPlan()},
		{"bench", benchPlan(300)},
		{"zero", &Plan{FormatVersion: FormatVersion}},
	} {
		data, err := EncodeSaved(tt.p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := DecodeSaved(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 2, 3, 7, 64, 4096, len(data)} {
			got, fast, err := readSaved(&chunkReader{bytes.NewReader(data), n})
			if err != nil || !fast {
				t.Fatalf("%s, %d-byte reads: fast %v, %v", tt.name, n, fast, err)
			}
			if !samePlan(t, got, want) {
				t.Errorf("%s, %d-byte reads: ReadSaved differs from DecodeSaved:\n%+v\nwant:\n%+v", tt.name, n, got, want)
			}
		}
	}
}

// FuzzReadSaved: ReadSaved gives what DecodeSaved gives, plan or error
// message, for any file; what its one pass decodes, DecodeSaved decodes
// the same.
func FuzzReadSaved(f *testing.F) {
	rich, _ := EncodeSaved(richPlan())
	compact, _ := json.Marshal(richPlan())
	for _, s := range []string{
		string(rich), string(compact), string(rich[:len(rich)/2]), string(rich) + "x",
		`{"formatVersion":1,"formatVersion":1,"groups":[]}`,
		`{"formatVersion":1,"x":2}`,
		`{"FormatVersion":1}`,
		`{"formatVersion":1,"groups":[{"k\u0065y":"a","key":"b"}]}`,
		`{"formatVersion":1,"groups":[null,{"key":null,"owner":null,"addMembers":[null],"create":{"members":[]}}],"summary":null,"createdAt":null,"orphans":[null,"a"]}`,
		`{"formatVersion":1.0}`, `{"formatVersion":1e0}`, `{"formatVersion":-0}`, `{"formatVersion":01}`, `{"formatVersion":-}`,
		`{"formatVersion":1,"stateSerial":99999999999999999999}`, `{"formatVersion":1,"stateSerial":-9223372036854775808}`,
		`{"formatVersion":1,"stateSerial":999999999999999999}`, `{"formatVersion":1,"stateSerial":1000000000000000000}`,
		`{"formatVersion":4294967297}`, `{"formatVersion":1,"summary":{"create":-2147483649}}`, // too big for a 32-bit int
		"{\"formatVersion\":1}\x00", " {\"formatVersion\":1}  \n", `{"formatVersion":1} {}`,
		"{\"formatVersion\":1,\"groups\":[{\"key\":\"a\\\"b\\\\c\\u00e9\\ud800\",\"name\":\"\xff\xfe\",\"vendor\":\"é\"}]}",
		"{\"formatVersion\":1,\"groups\":[{\"key\":\"a\x01b\"}]}",
		`{"formatVersion":1,"createdAt":"2026-11-29T11:14:27+08:00"}`, `{"formatVersion":1,"createdAt":"2026-11-29T11:14:27\u005a"}`,
		`{"formatVersion":1,"createdAt":"bad"}`, `{"formatVersion":1,"createdAt":5}`,
		`{"formatVersion":"1"}`, `{"formatVersion":1,"groups":{}}`, `{"formatVersion":1,"refreshed":"true"}`, `{"formatVersion":1,"refreshed":tru}`,
		`{"formatVersion":2}`, `null`, `[]`, ``, `{}`, `{"formatVersion":1,}`, `{"formatVersion":1,"groups":[{},]}`,
		`{"formatVersion":1,"groups":[{"addMembers":[{"id":"a","id":"b"}]}],"summary":{"create":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := DecodeSaved(data)
		for _, n := range []int{len(data) + 1, 1 + len(data)%7} {
			got, fast, err := readSaved(&chunkReader{bytes.NewReader(data), n})
			if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
				t.Fatalf("%d-byte reads (one pass: %v): error %v, DecodeSaved's %v", n, fast, err, werr)
			}
			if !samePlan(t, got, want) {
				t.Fatalf("%d-byte reads (one pass: %v): ReadSaved differs from DecodeSaved:\n%+v\nwant:\n%+v", n, fast, got, want)
			}
		}
	})
}

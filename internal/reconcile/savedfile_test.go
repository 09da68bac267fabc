package reconcile

import (
	"bytes"
	"errors"
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

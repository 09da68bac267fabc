package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

func TestGroupRecordRoundTrip(t *testing.T) {
	many := make([]vendors.LiveMember, 300)
	for i := range many {
		many[i] = vendors.LiveMember{ID: "5b503ee9e4b02abb5318b" + string(rune('a'+i%26)), Email: "u@example.com", Name: "成员"}
	}
	tests := []struct {
		name string
		g    vendors.Group
	}{
		{"empty", vendors.Group{}},
		{"no members yet", vendors.Group{ID: "g", Members: []vendors.LiveMember{}}},
		{"full", vendors.Group{ID: "5bee7172e4b0f6bbaa32b4bf", Name: "运维广播", Type: "sysTopic", CreateTime: 1732600000123,
			Managers: []string{"a", "b"}, Members: many, Subscribers: many[:2], Info: true,
			Notice: &vendors.Notice{Title: "值班", Content: "line\nwith \x00 bytes"}}},
		{"info without a notice", vendors.Group{ID: "g", Info: true, CreateTime: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeGroup(&tt.g)
			var got vendors.Group
			if err := decodeGroup(data, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.g, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGroupRecordDamage: a damaged record is an error, never a panic nor
// a group made up.
func TestGroupRecordDamage(t *testing.T) {
	g := vendors.Group{ID: "g", Members: []vendors.LiveMember{{ID: "m1"}, {ID: "m2", Email: "e"}}, Notice: &vendors.Notice{Title: "t"}}
	raw := appendGroup(nil, &g)
	for n := range len(raw) {
		d := recordDecoder{s: string(raw[:n])}
		var got vendors.Group
		if d.group(&got); d.err == nil {
			t.Errorf("a record cut at %d of %d bytes decoded as %+v", n, len(raw), got)
		}
	}
	for _, data := range [][]byte{nil, {0}, {readFormatDeflate}, {readFormatDeflate, 0xff}, {'{', '}'}} {
		var got vendors.Group
		if err := decodeGroup(data, &got); err == nil {
			t.Errorf("decodeGroup(%q) succeeded", data)
		}
	}
}

func FuzzGroupRecord(f *testing.F) {
	f.Add(appendGroup(nil, &vendors.Group{ID: "g", Members: []vendors.LiveMember{{ID: "m"}}}))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := recordDecoder{s: string(raw)}
		var g vendors.Group
		d.group(&g)
	})
}

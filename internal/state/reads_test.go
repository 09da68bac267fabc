package state

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"groupsync/internal/vendors"
)

// testRead is a read of group i with n members: Yunzhijia-like for even i
// (ids only, one manager), Lunkr-like for odd i (uid, email, name).
func testRead(i, n int) Read {
	g := vendors.Group{ID: fmt.Sprintf("5bee7172e4b0%012x", i)}
	r := Read{Key: fmt.Sprintf("group-%05d", i), Provider: "kingdee", ReadAt: ts(i % 60)}
	if i%2 == 1 {
		r.Provider = "coremail"
		g = vendors.Group{ID: fmt.Sprint(10000 + i), Name: fmt.Sprintf("讨论组 %d", i), Type: "topic", CreateTime: 1764158400000 + int64(i)}
	}
	for m := range n {
		if i%2 == 0 {
			g.Members = append(g.Members, vendors.LiveMember{ID: fmt.Sprintf("5b503ee9e4b0%012x", m)})
			continue
		}
		g.Members = append(g.Members, vendors.LiveMember{
			ID: fmt.Sprint(200000 + m), Email: fmt.Sprintf("user%d@example.com", m), Name: fmt.Sprintf("用户%d", m),
		})
	}
	if i%2 == 0 && n > 0 {
		g.Managers = []string{g.Members[0].ID}
	}
	r.GroupID = g.ID
	r.Group = g
	return r
}

func TestReadsRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	want := map[string]Read{}
	var reads []Read
	for i := range 20 {
		r := testRead(i, i*3)
		reads = append(reads, r)
		want[r.Key] = r
	}
	if err := s.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	got, err := s.Reads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Reads (-want +got):\n%s", d)
	}
	for _, r := range got {
		if r.ReadAt.Location() != time.UTC {
			t.Errorf("%s: ReadAt in %v, want UTC", r.Key, r.ReadAt.Location())
		}
	}

	// Upsert by key, and a zero ReadAt means now.
	r := testRead(4, 1)
	r.ReadAt = time.Time{}
	if err := s.SaveReads(ctx, []Read{r}); err != nil {
		t.Fatal(err)
	}
	one, ok, err := s.CachedRead(ctx, r.Key)
	if err != nil || !ok {
		t.Fatalf("CachedRead = %v, %v", ok, err)
	}
	if len(one.Group.Members) != 1 || time.Since(one.ReadAt) > time.Minute {
		t.Errorf("read after upsert: %d members at %v", len(one.Group.Members), one.ReadAt)
	}
	if all, _ := s.Reads(ctx); len(all) != 20 {
		t.Errorf("%d reads after upsert, want 20", len(all))
	}
	if _, ok, err := s.CachedRead(ctx, "nobody"); ok || err != nil {
		t.Errorf("CachedRead(nobody) = %v, %v", ok, err)
	}
}

func TestSaveReadsIsOneTransaction(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	good := testRead(1, 2)
	bad := testRead(2, 2)
	bad.GroupID = ""
	err := s.SaveReads(ctx, []Read{good, bad})
	if err == nil {
		t.Fatal("SaveReads accepted a read with no group id")
	}
	if want := "cache reads: " + bad.Key + ": empty group id"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if all, _ := s.Reads(ctx); len(all) != 0 {
		t.Errorf("a failed SaveReads saved %d reads", len(all))
	}
}

func TestSaveReadsDoesNotBumpSerial(t *testing.T) {
	s := newStore(t)
	before := mustSerial(t, s)
	if err := s.SaveReads(context.Background(), []Read{testRead(1, 1)}); err != nil {
		t.Fatal(err)
	}
	if mustSerial(t, s) != before {
		t.Error("SaveReads changed the serial")
	}
}

// benchReads is the scale of SPEC section 6: 10,000 groups x 200 members.
func benchReads() ([]Read, int) {
	reads := make([]Read, 10000)
	size := 0
	for i := range reads {
		reads[i] = testRead(i, 200)
		size += len(mustJSON(reads[i].Group))
	}
	return reads, size
}

func BenchmarkSaveReads(b *testing.B) {
	reads, size := benchReads()
	path := filepath.Join(b.TempDir(), "groupsync.db")
	s := openStore(b, path)
	ctx := context.Background()
	for b.Loop() {
		if err := s.SaveReads(ctx, reads); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size)/1e6, "MB-json/op")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB-file")
	}
}

func BenchmarkLoadReads(b *testing.B) {
	reads, size := benchReads()
	s := newStore(b)
	ctx := context.Background()
	if err := s.SaveReads(ctx, reads); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := s.Reads(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(reads) {
			b.Fatalf("loaded %d reads, want %d", len(got), len(reads))
		}
	}
	b.ReportMetric(float64(size)/1e6, "MB-json/op")
}

func mustJSON(g vendors.Group) []byte {
	data, err := json.Marshal(g)
	if err != nil {
		panic(err)
	}
	return data
}

func TestReadsNamesAnUndecodableRead(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var reads []Read
	for i := range 3 * readBatchSize {
		reads = append(reads, testRead(i, 2))
	}
	if err := s.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE reads SET data = ? WHERE key = ?", []byte{readFormatDeflate, 0xff, 0xfe}, reads[200].Key); err != nil {
		t.Fatal(err)
	}
	_, err := s.Reads(ctx)
	if err == nil || !strings.Contains(err.Error(), reads[200].Key) {
		t.Errorf("Reads = %v, want an error naming %s", err, reads[200].Key)
	}
	if _, _, err := s.CachedRead(ctx, reads[200].Key); err == nil {
		t.Error("CachedRead decoded a damaged read")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Reads(cancelled); err == nil {
		t.Error("Reads with a cancelled context succeeded")
	}
}

// TestSaveReadsLaterWins: of two reads of one key in one call, the later
// is kept, on both backends (one statement must not update a row twice).
func TestSaveReadsLaterWins(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var reads []Read
	for i := range 250 {
		reads = append(reads, testRead(i, 1))
	}
	later := testRead(3, 4)
	reads = append(reads, later)
	if err := s.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.CachedRead(ctx, later.Key)
	if err != nil || !ok || len(got.Group.Members) != 4 {
		t.Errorf("CachedRead = %d members, %v, %v; want the later read's 4", len(got.Group.Members), ok, err)
	}
	all, err := s.Reads(ctx)
	if err != nil || len(all) != 250 {
		t.Errorf("Reads = %d, %v; want 250", len(all), err)
	}
}

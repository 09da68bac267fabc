package state

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadSaverCachesEveryRead(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	w := s.NewReadSaver(ctx, 7)
	want := map[string]Read{}
	for i := range 50 {
		r := testRead(i, i%5)
		w.Add(r)
		want[r.Key] = r
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Reads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cached reads (-want +got):\n%s", diff)
	}
}

func TestReadSaverReportsAFailedSave(t *testing.T) {
	s := newStore(t)
	w := s.NewReadSaver(context.Background(), 2)
	w.Add(testRead(1, 1))
	w.Add(Read{Key: "no-provider", GroupID: "1"})
	w.Add(testRead(2, 1))
	if err := w.Close(); err == nil {
		t.Error("Close = nil, want the failed save's error")
	}
}

func TestEachReadAndCachedReads(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var reads []Read
	for i := range 300 {
		reads = append(reads, testRead(i, 2))
	}
	if err := s.SaveReads(ctx, reads); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.EachRead(ctx, func(Read) error { n++; return nil }); err != nil || n != len(reads) {
		t.Errorf("EachRead: %d reads, %v; want %d, nil", n, err, len(reads))
	}
	stop := errors.New("stop")
	n = 0
	err := s.EachRead(ctx, func(Read) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachRead stopped: %d reads, %v; want 1, %v", n, err, stop)
	}

	keys := []string{reads[3].Key, "absent", reads[299].Key}
	for i := range 600 { // more keys than one query takes
		keys = append(keys, reads[i%300].Key)
	}
	got, err := s.CachedReads(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 300 || got[reads[3].Key].GroupID != reads[3].GroupID {
		t.Errorf("CachedReads: %d reads, want 300", len(got))
	}
	if diff := cmp.Diff(reads[299], got[reads[299].Key]); diff != "" {
		t.Errorf("CachedReads (-want +got):\n%s", diff)
	}
	none, err := s.CachedReads(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("CachedReads(nil) = %v, %v", none, err)
	}
}

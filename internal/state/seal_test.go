package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestPlanSeals(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.SealPlan(ctx, "aaa", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SealPlan(ctx, "bbb", 0); err != nil {
		t.Fatal(err)
	}
	if serial, err := s.Serial(ctx); err != nil || serial != 0 {
		t.Fatalf("serial after sealing = %d, %v; a seal must not change it", serial, err)
	}
	for _, tc := range []struct {
		seal   string
		serial int64
		want   bool
	}{
		{"aaa", 0, true},
		{"bbb", 0, true},
		{"aaa", 1, false}, // made at another serial
		{"ccc", 0, false}, // never sealed
		{"", 0, false},
	} {
		if got, err := s.PlanSealed(ctx, tc.seal, tc.serial); err != nil || got != tc.want {
			t.Errorf("PlanSealed(%q, %d) = %v, %v; want %v", tc.seal, tc.serial, got, err, tc.want)
		}
	}

	// A write moves the serial: the next seal drops those of earlier serials.
	if err := s.Bind(ctx, Binding{Key: "k", Provider: "p", GroupID: "g1", Origin: OriginCreated, BoundAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.SealPlan(ctx, "ccc", 1); err != nil {
		t.Fatal(err)
	}
	var seals int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE name LIKE 'plan-seal:%'").Scan(&seals); err != nil || seals != 1 {
		t.Errorf("seals kept = %d, %v; want only the one of the current serial", seals, err)
	}
	if got, err := s.PlanSealed(ctx, "ccc", 1); err != nil || !got {
		t.Errorf("PlanSealed(ccc, 1) = %v, %v", got, err)
	}
	if err := s.SealPlan(ctx, "", 1); err == nil {
		t.Error("SealPlan accepted an empty seal")
	}

	// Seals saved again and again at one serial are bounded.
	for i := range maxSeals + 10 {
		if err := s.SealPlan(ctx, fmt.Sprintf("many-%d", i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE name LIKE 'plan-seal:%'").Scan(&seals); err != nil || seals > maxSeals {
		t.Errorf("seals kept = %d, %v; want at most %d", seals, err, maxSeals)
	}
	if got, err := s.PlanSealed(ctx, fmt.Sprintf("many-%d", maxSeals+9), 1); err != nil || !got {
		t.Errorf("the newest seal is gone: %v, %v", got, err)
	}
}

// TestCopyDropsSeals: a copy may take a state's serial back; a seal it
// held must not vouch for a plan when the serial comes round again with
// other contents.
func TestCopyDropsSeals(t *testing.T) {
	ctx := context.Background()
	older, dst := newStore(t), newStore(t)
	for range 3 {
		if err := dst.Bind(ctx, Binding{Key: "k", Provider: "p", GroupID: "g1", Origin: OriginCreated, BoundAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := dst.SealPlan(ctx, "aaa", 3); err != nil {
		t.Fatal(err)
	}
	if err := older.SealPlan(ctx, "bbb", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := older.CopyTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	for _, seal := range []struct {
		s      string
		serial int64
	}{{"aaa", 3}, {"bbb", 0}} {
		if got, err := dst.PlanSealed(ctx, seal.s, seal.serial); err != nil || got {
			t.Errorf("after the copy, PlanSealed(%s, %d) = %v, %v; want false", seal.s, seal.serial, got, err)
		}
	}
}

func TestOpenCurrent(t *testing.T) {
	ctx := context.Background()

	t.Run("current", func(t *testing.T) {
		path := newLocation(t)
		s := openStore(t, path)
		if err := s.SealPlan(ctx, "aaa", 0); err != nil {
			t.Fatal(err)
		}
		r, err := OpenCurrent(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if got, err := r.PlanSealed(ctx, "aaa", 0); err != nil || !got {
			t.Errorf("PlanSealed through OpenCurrent = %v, %v", got, err)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		if testingPostgres() {
			t.Skip("a file")
		}
		path := filepath.Join(t.TempDir(), "none.db")
		if _, err := OpenCurrent(path); !errors.Is(err, ErrNotCurrent) {
			t.Fatalf("OpenCurrent of a missing file: %v, want ErrNotCurrent", err)
		}
		if m, _ := filepath.Glob(path + "*"); len(m) > 0 {
			t.Errorf("OpenCurrent made %v", m)
		}
	})

	t.Run("a name to escape in a URI", func(t *testing.T) {
		if testingPostgres() {
			t.Skip("a file")
		}
		path := filepath.Join(t.TempDir(), "my state #1 %41.db")
		openStore(t, path)
		r, err := OpenCurrent(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Serial(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("gone after it was found", func(t *testing.T) {
		if testingPostgres() {
			t.Skip("a file")
		}
		// What OpenCurrent opens after its check that the file exists:
		// SQLite must not create it.
		path := filepath.Join(t.TempDir(), "gone.db")
		name, err := dsnExisting(path)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", name)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.PingContext(ctx); err == nil {
			t.Error("opened a missing file")
		}
		if m, _ := filepath.Glob(path + "*"); len(m) > 0 {
			t.Errorf("made %v", m)
		}
	})

	t.Run("older schema", func(t *testing.T) {
		path := newLocation(t)
		db, d := openRaw(t, path)
		if err := migrateTo(ctx, db, d, path, currentVersion()-1); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCurrent(path); !errors.Is(err, ErrNotCurrent) {
			t.Fatalf("OpenCurrent of a v%d state: %v, want ErrNotCurrent", currentVersion()-1, err)
		}
		// Nothing was migrated.
		v, _, err := readVersion(ctx, db, d)
		if err != nil || v != currentVersion()-1 {
			t.Errorf("version after OpenCurrent = %d, %v; want %d", v, err, currentVersion()-1)
		}
		db.Close()
	})
}

package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"groupsync/internal/vendors"
)

// Read is the last live read of a group, cached so that a plan can run
// offline (plan --refresh=false).
type Read struct {
	Key      string
	Provider string
	GroupID  string
	Group    vendors.Group
	ReadAt   time.Time // UTC; SaveReads sets the current time when zero
}

// SaveReads caches reads, replacing earlier reads of the same keys, in one
// transaction: caching ten thousand reads costs one commit, not ten thousand.
// Rows go in a hundred to a statement, which saves PostgreSQL a round trip
// per read. Of two reads of one key, the later wins. It does not change
// Serial. The transaction is the group commit's (see committer): reads
// cached while an apply journals its calls wait in the process for the
// journal's commits, and they for it, never on SQLite's busy handler; the
// reads are encoded before it begins.
func (s *Store) SaveReads(ctx context.Context, reads []Read) error {
	if len(reads) == 0 {
		return nil
	}
	rows, err := readRows(reads, now())
	if err != nil {
		return fmt.Errorf("cache reads: %w", err)
	}
	err = s.groupTx(ctx, func(tx *sql.Tx) error {
		rows := rows // the group commit may run this twice
		for len(rows) > 0 {
			n := min(len(rows), readsPerStatement)
			q := upsertReads
			if n != readsPerStatement {
				q = upsertReadsSQL(n)
			}
			args := make([]any, 0, 5*n)
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache reads: %w", err)
	}
	return nil
}

// readsPerStatement is how many reads one upsert writes (5 parameters
// each, well under both databases' limits).
const readsPerStatement = 100

var upsertReads = upsertReadsSQL(readsPerStatement)

func upsertReadsSQL(n int) string {
	return "INSERT INTO reads (key, provider, group_id, data, read_at) VALUES (?, ?, ?, ?, ?)" +
		strings.Repeat(", (?, ?, ?, ?, ?)", n-1) +
		` ON CONFLICT (key) DO UPDATE SET provider = excluded.provider, group_id = excluded.group_id,
			data = excluded.data, read_at = excluded.read_at`
}

// readRows checks and encodes reads as rows of parameters, the last read
// of each key only (one statement may not update a row twice).
func readRows(reads []Read, at time.Time) ([][]any, error) {
	last := make(map[string]int, len(reads))
	for i, r := range reads {
		switch {
		case r.Key == "":
			return nil, errors.New("empty key")
		case r.Provider == "":
			return nil, fmt.Errorf("%s: empty provider", r.Key)
		case r.GroupID == "":
			return nil, fmt.Errorf("%s: empty group id", r.Key)
		}
		last[r.Key] = i
	}
	rows := make([][]any, 0, len(last))
	for i, r := range reads {
		if last[r.Key] != i {
			continue
		}
		t := at
		if !r.ReadAt.IsZero() {
			t = r.ReadAt
		}
		rows = append(rows, []any{r.Key, r.Provider, r.GroupID, encodeGroup(&r.Group), formatTime(t)})
	}
	return rows, nil
}

// Reads returns every cached read by key.
func (s *Store) Reads(ctx context.Context) (map[string]Read, error) {
	out := map[string]Read{}
	err := s.EachRead(ctx, func(r Read) error {
		out[r.Key] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachRead hands every cached read to fn, one call at a time, in no
// particular order, keeping none: a plan from the cache holds one group's
// read at a time instead of all of them. Decoding the cached groups is most
// of the work; it is spread over GOMAXPROCS goroutines while one goroutine
// scans the rows. An error of fn stops the scan and is returned.
func (s *Store) EachRead(ctx context.Context, fn func(Read) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx, "SELECT key, provider, group_id, data, read_at FROM reads")
	if err != nil {
		return fmt.Errorf("read cached reads: %w", err)
	}
	workers := runtime.GOMAXPROCS(0)
	raw := make(chan []rawRead, workers)
	decoded := make(chan decodedBatch, workers)
	var scanErr error
	go func() {
		defer close(raw)
		scanErr = scanRawReads(rows, raw)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			strs := vendors.Interner{}
			for batch := range raw {
				decoded <- decodeBatch(batch, strs)
			}
		})
	}
	go func() {
		wg.Wait()
		close(decoded)
	}()
	var decodeErr, fnErr error
	for batch := range decoded {
		if batch.err != nil && decodeErr == nil {
			decodeErr = batch.err
		}
		for _, r := range batch.reads {
			if fnErr != nil {
				break
			}
			if fnErr = fn(r); fnErr != nil {
				cancel() // the scan stops; the batches under way are drained
			}
		}
	}
	if fnErr != nil {
		return fnErr
	}
	// decoded is closed only after the scanner finished: scanErr is set.
	if scanErr != nil {
		return fmt.Errorf("read cached reads: %w", scanErr)
	}
	return decodeErr
}

// rawRead is a row of reads whose group is not decoded yet.
type rawRead struct {
	read Read
	data []byte
	at   sql.NullString
}

type decodedBatch struct {
	reads []Read
	err   error // the first read that failed to decode
}

// readBatchSize is how many rows a decoding goroutine takes at a time.
const readBatchSize = 128

// scanRawReads sends the rows in batches and closes them.
func scanRawReads(rows *sql.Rows, out chan<- []rawRead) error {
	batch := make([]rawRead, 0, readBatchSize)
	for rows.Next() {
		var r rawRead
		if err := rows.Scan(&r.read.Key, &r.read.Provider, &r.read.GroupID, &r.data, &r.at); err != nil {
			rows.Close()
			return err
		}
		batch = append(batch, r)
		if len(batch) == readBatchSize {
			out <- batch
			batch = make([]rawRead, 0, readBatchSize)
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return closeRows(rows)
}

func decodeBatch(batch []rawRead, strs vendors.Interner) decodedBatch {
	var d decodedBatch
	d.reads = make([]Read, 0, len(batch))
	for _, raw := range batch {
		r, err := decodeRead(raw)
		if err != nil {
			if d.err == nil {
				d.err = fmt.Errorf("read cached read of %s: %w", r.Key, err)
			}
			continue
		}
		strs.Group(&r.Group)
		d.reads = append(d.reads, r)
	}
	return d
}

func decodeRead(raw rawRead) (Read, error) {
	r := raw.read
	if err := decodeGroup(raw.data, &r.Group); err != nil {
		return r, err
	}
	var err error
	r.ReadAt, err = parseTime(raw.at)
	return r, err
}

// CachedReads returns the cached reads of keys by key; a key with none is
// left out. It reads only those rows, in one query per few hundred keys.
func (s *Store) CachedReads(ctx context.Context, keys []string) (map[string]Read, error) {
	out := make(map[string]Read, len(keys))
	const chunk = 500 // under SQLite's limit of bound parameters
	for len(keys) > 0 {
		n := min(chunk, len(keys))
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		q := "SELECT key, provider, group_id, data, read_at FROM reads WHERE key IN (?" + strings.Repeat(", ?", n-1) + ")"
		rows, err := s.db.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read cached reads: %w", err)
		}
		for rows.Next() {
			r, err := scanRead(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("read cached read of %s: %w", r.Key, err)
			}
			out[r.Key] = r
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("read cached reads: %w", err)
		}
		keys = keys[n:]
	}
	return out, nil
}

// CachedRead returns the cached read of key, and false when there is none.
func (s *Store) CachedRead(ctx context.Context, key string) (Read, bool, error) {
	row := s.db.QueryRowContext(ctx,
		"SELECT key, provider, group_id, data, read_at FROM reads WHERE key = ?", key)
	r, err := scanRead(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Read{}, false, nil
	}
	if err != nil {
		return Read{}, false, fmt.Errorf("read cached read of %s: %w", key, err)
	}
	return r, true, nil
}

func scanRead(sc scanner) (Read, error) {
	var raw rawRead
	if err := sc.Scan(&raw.read.Key, &raw.read.Provider, &raw.read.GroupID, &raw.data, &raw.at); err != nil {
		return raw.read, err
	}
	return decodeRead(raw)
}

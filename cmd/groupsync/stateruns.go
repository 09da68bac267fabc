package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"groupsync/internal/printable"
	"groupsync/internal/state"
)

// stateEntry is one key of `state list --format json`.
type stateEntry struct {
	Key      string     `json:"key"`
	Provider string     `json:"provider,omitempty"`
	GroupID  string     `json:"groupId,omitempty"`
	Origin   string     `json:"origin,omitempty"`
	LastRead *time.Time `json:"lastRead,omitempty"`
	Pending  int        `json:"pending"` // writes whose outcome is unknown
}

// stateListJSON is `state list` as a JSON array, for scripts: the same
// keys, in the same order, with the same columns.
func (a *app) stateListJSON(ctx context.Context, store *state.Store) error {
	bindings, err := store.Bindings(ctx)
	if err != nil {
		return err
	}
	reads, err := store.Reads(ctx)
	if err != nil {
		return err
	}
	intents, err := store.OpenIntents(ctx)
	if err != nil {
		return err
	}
	entries := map[string]*stateEntry{}
	entry := func(k string) *stateEntry {
		e := entries[k]
		if e == nil {
			e = &stateEntry{Key: k}
			entries[k] = e
		}
		return e
	}
	for k, b := range bindings {
		e := entry(k)
		e.Provider, e.GroupID, e.Origin = b.Provider, b.GroupID, string(b.Origin)
		if r, ok := reads[k]; ok {
			t := r.ReadAt.UTC()
			e.LastRead = &t
		}
	}
	for _, in := range intents {
		entry(in.Key).Pending++
	}
	out := make([]*stateEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return a.writeJSON(out)
}

// writeJSON writes v indented, with what is not printable escaped: the
// state holds what vendors answered.
func (a *app) writeJSON(v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(printable.JSON(data), '\n'))
	return err
}

// runEntry is one run of `state runs --format json`.
type runEntry struct {
	ID       int64      `json:"id"`
	Started  time.Time  `json:"started"`
	Ended    *time.Time `json:"ended,omitempty"` // absent while running
	Seconds  *float64   `json:"durationSeconds,omitempty"`
	Trigger  string     `json:"trigger"`
	Outcome  string     `json:"outcome"` // "running" while in progress
	Created  int        `json:"created"`
	Added    int        `json:"added"`
	Removed  int        `json:"removed"`
	Posted   int        `json:"posted"`
	Drift    int        `json:"drift"`
	Errors   int        `json:"errors"`
	Message  string     `json:"message,omitempty"`
	duration string
}

// stateRuns shows the run history apply and run record: newest first, at
// most limit runs (all when 0).
func (a *app) stateRuns(ctx context.Context, store *state.Store, limit int, format string) error {
	if limit < 0 {
		return fmt.Errorf("--limit: must be 0 (all) or more, got %d", limit)
	}
	runs, err := store.Runs(ctx, limit)
	if err != nil {
		return err
	}
	entries := make([]runEntry, len(runs))
	for i, r := range runs {
		e := runEntry{ID: r.ID, Started: r.Started.UTC(), Trigger: r.Trigger, Outcome: string(r.Outcome),
			Created: r.Created, Added: r.Added, Removed: r.Removed, Posted: r.Posted, Drift: r.Drift, Errors: r.Errors, Message: r.Message, duration: "-"}
		if e.Outcome == "" {
			e.Outcome = "running"
		}
		if !r.Ended.IsZero() {
			end := r.Ended.UTC()
			d := r.Ended.Sub(r.Started)
			secs := d.Seconds()
			e.Ended, e.Seconds, e.duration = &end, &secs, d.Round(time.Millisecond).String()
		}
		entries[i] = e
	}
	if format == "json" {
		return a.writeJSON(entries)
	}
	if len(entries) == 0 {
		fmt.Fprintln(a.stdout, "No runs recorded yet: apply and run record each run here.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTARTED\tDURATION\tOUTCOME\tCHANGES\tTRIGGER\tMESSAGE")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Started.Format(time.RFC3339), e.duration,
			esc(e.Outcome), runChanges(e), esc(e.Trigger), esc(orDash(e.Message)))
	}
	return tw.Flush()
}

// runChanges is "2 created, 5 added, 3 removed, 1 posted; 1 drift", or
// "none".
func runChanges(e runEntry) string {
	var out []string
	for _, c := range []struct {
		n    int
		verb string
	}{{e.Created, "created"}, {e.Added, "added"}, {e.Removed, "removed"}, {e.Posted, "posted"}} {
		if c.n > 0 {
			out = append(out, fmt.Sprintf("%d %s", c.n, c.verb))
		}
	}
	s := strings.Join(out, ", ")
	if s == "" {
		s = "none"
	}
	if e.Drift > 0 {
		s += fmt.Sprintf("; %d drift", e.Drift)
	}
	if e.Errors > 0 {
		s += "; " + plural(e.Errors, "error")
	}
	return s
}

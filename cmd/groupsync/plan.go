package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"groupsync/internal/converge"
	"groupsync/internal/reconcile"
	"groupsync/internal/render"
	"groupsync/internal/spec"
	"groupsync/internal/state"
)

func (a *app) plan(ctx context.Context, args []string) error {
	fs := a.newFlagSet("plan", "plan -f PATH... [--out FILE] [--format text|markdown|json] [--full-plan-url URL] [--refresh=false] [--detailed-exitcode]",
		"groupsync plan --sandbox -f examples/groups.yaml --detailed-exitcode")
	var (
		c        commonFlags
		files    stringList
		out      string
		format   string
		refresh  bool
		detailed bool
		timeout  time.Duration
		settle   time.Duration
		fullURL  string
	)
	a.addCommon(fs, &c)
	fs.Var(&files, "f", "manifest `file or directory` (repeatable)")
	fs.StringVar(&out, "out", "", "save the plan to `file` for `groupsync apply FILE`")
	fs.StringVar(&format, "format", "text", "output format: text, markdown or json")
	fs.BoolVar(&refresh, "refresh", true, "read live groups from the vendors; false plans from the state's cache with no network")
	fs.StringVar(&fullURL, "full-plan-url", "", "markdown: link a cut plan to the full plan at `URL` (for example a CI artifact)")
	fs.BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when nothing to do, 2 with changes to apply, 3 with only drift to fix by hand")
	addRunTimeout(fs, &timeout)
	addSettle(fs, &settle)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := checkSettle(settle); err != nil {
		return err
	}
	files = append(files, pos...)
	if err := c.check(); err != nil {
		return err
	}
	if format != "text" && format != "markdown" && format != "json" {
		return fmt.Errorf("--format: %q is not text, markdown or json", format)
	}
	if err := checkRunTimeout(timeout); err != nil {
		return err
	}
	if out != "" {
		// A saved plan names its manifests absolutely, so that `apply FILE`
		// finds them from any directory (and the digest, which covers the
		// names, matches there).
		for i, f := range files {
			if files[i], err = filepath.Abs(f); err != nil {
				return fmt.Errorf("-f %s: %w", f, err)
			}
		}
	}
	m, err := a.load(files)
	if err != nil {
		return err
	}
	log, err := a.logger(c.logFormat)
	if err != nil {
		return err
	}
	if refresh {
		if err := a.checkTokens(m, &c); err != nil {
			return err
		}
	}
	store, err := state.Open(c.location())
	if err != nil {
		return err
	}
	defer store.Close()
	var conns *connections
	if refresh {
		if conns, err = a.connect(m, &c, log, nil); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := makePlan(ctx, m, store, conns, c.parallelism, refresh, settle)
	if cerr := conns.close(); err == nil {
		err = cerr
	}
	if err != nil {
		if derr := deadlineError(ctx, "the plan", timeout, err); derr != nil {
			return derr
		}
		return err
	}
	if err := a.renderPlan(a.stdout, p, format, fullURL); err != nil {
		return err
	}
	if err := deadlineError(ctx, "the plan", timeout, nil); err != nil {
		// Reads cut by the deadline are shown as errors in the plan above.
		return err
	}
	if out != "" {
		sum, err := savePlan(out, p)
		if err != nil {
			return err
		}
		a.sealPlan(ctx, store, m, p, out, sum)
		flags := c.applyFlags(a.getenv)
		fmt.Fprintf(a.stderr, "Saved the plan to %s: apply it with `groupsync apply%s %s`.\n", out, flags, shellWord(out))
		if strings.Contains(flags, "--state") && len(state.LocationSecrets(c.location())) > 0 {
			// The URL or connection string is shown without its password:
			// the command is the reader's to complete, not to paste.
			fmt.Fprintln(a.stderr, "(--state as you gave it: its password is not shown)")
		}
	}
	return planExit(p, detailed)
}

// planExit maps a plan to the exit code: 1 when a group is blocked by an
// error; with --detailed-exitcode 2 for changes, 3 for drift only.
func planExit(p *reconcile.Plan, detailed bool) error {
	switch {
	case p.HasErrors():
		return errReported
	case !detailed:
		return nil
	case p.CanApply():
		return exitCodeError{exitChanges}
	case p.HasDrift():
		return exitCodeError{exitDrift}
	}
	return nil
}

// defaultSettle is how long a create of unknown outcome may still be
// carried out by the vendor: until then, not finding its group is no proof
// that it was not made (SPEC section 7.7).
const defaultSettle = 2 * time.Minute

// addSettle adds --settle, for the commands that plan.
func addSettle(fs *flag.FlagSet, settle *time.Duration) {
	fs.DurationVar(settle, "settle", defaultSettle, "wait this long after the last attempt of a create of unknown outcome (crashed, timed out) before concluding it made no group: the vendor may still carry it out")
}

func checkSettle(settle time.Duration) error {
	if settle < 0 {
		return fmt.Errorf("--settle: must not be negative, got %s", settle)
	}
	return nil
}

// makePlan makes the plan the one way every command does. Every
// provider's token is had first: a provider without one is said once in the
// plan, and its groups are blocked without a call.
func makePlan(ctx context.Context, m *spec.Manifest, store *state.Store, conns *connections, parallelism int, refresh bool, settle time.Duration) (*reconcile.Plan, error) {
	pl := newPlanner(m, nil, store, conns, parallelism, settle)
	return pl.Plan(ctx, m, refresh)
}

func (a *app) render(w io.Writer, p *reconcile.Plan, format string) error {
	return a.renderPlan(w, p, format, "")
}

// renderPlan writes p in format; fullURL is markdown's --full-plan-url.
// plan and show both print with it, so a saved plan shows as it was made.
func (a *app) renderPlan(w io.Writer, p *reconcile.Plan, format, fullURL string) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "markdown":
		err = render.MarkdownWith(bw, p, render.MarkdownOptions{FullPlanURL: fullURL})
	case "json":
		err = render.JSON(bw, p)
	default:
		err = render.Text(bw, p, render.Options{Color: a.terminal && !a.noColor()})
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func (a *app) noColor() bool {
	_, set := a.getenv("NO_COLOR")
	return set
}

// savePlan writes the saved plan group by group (at 50,000 groups the
// document is hundreds of MB) through writeAtomic, and returns the SHA-256
// of the bytes written.
func savePlan(path string, p *reconcile.Plan) ([]byte, error) {
	h := sha256.New()
	if err := writeAtomic(path, func(w io.Writer) error { return reconcile.WriteSaved(io.MultiWriter(w, h), p) }); err != nil {
		return nil, fmt.Errorf("save plan: %w", err)
	}
	return h.Sum(nil), nil
}

// sealPlan seals the plan just saved to path, of SHA-256 sum, in its state
// (see seal.go), once it passes the checks its apply would make of it
// unsealed: a seal stands for them. They can fail, for a plan made while
// another process wrote to the state (its reads and its serial may then
// not agree). A plan that is not sealed is still a plan: its apply checks
// it in full, so this only says why.
func (a *app) sealPlan(ctx context.Context, store *state.Store, m *spec.Manifest, p *reconcile.Plan, path string, sum []byte) {
	err := converge.CheckSavedPlan(ctx, store, m, p, path, false)
	var seal string
	if err == nil {
		seal, err = sealOf(sum)
	}
	if err == nil {
		err = store.SealPlan(ctx, seal, p.StateSerial)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "note: the plan is not sealed in the state (%v); its apply will check it against the whole manifest\n", err)
	}
}

func readPlan(path string) (*reconcile.Plan, error) {
	src, done, err := openPlanFile(path)
	if err != nil {
		return nil, err
	}
	defer done()
	return decodePlan(path, src)
}

// openPlanFile opens a saved plan to be read where it is, as many times as
// needed (its head for the manifests, then the whole): the file itself
// when it is a regular file, else (a pipe) its bytes, read whole. done
// closes it.
func openPlanFile(path string) (src io.ReaderAt, done func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read saved plan: %w", err)
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		f.Close()
		return nil, nil, fmt.Errorf("read saved plan: %w", err)
	case fi.IsDir():
		f.Close()
		return nil, nil, fmt.Errorf("%s is a directory, not a saved plan\nhint: to apply the manifests in it, name it with -f: groupsync apply -f %s", path, path)
	case fi.Mode().IsRegular():
		return f, func() { f.Close() }, nil
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("read saved plan: %w", err)
	}
	return bytes.NewReader(data), func() {}, nil
}

// fromStart reads src from its first byte.
func fromStart(src io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(src, 0, math.MaxInt64)
}

// planManifests returns the manifestFiles a saved plan names near its
// start, reading no further (nil when it cannot tell: decodePlan then says
// why).
func planManifests(r io.Reader) []string {
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if t == "manifestFiles" {
			var files []string
			if dec.Decode(&files) != nil {
				return nil
			}
			return files
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return nil
}

// errorReader keeps the first error of r other than io.EOF: a file that
// cannot be read is not "not a saved plan".
type errorReader struct {
	r   io.ReadSeeker
	err error
}

func (e *errorReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

func (e *errorReader) Seek(off int64, whence int) (int64, error) { return e.r.Seek(off, whence) }

// decodePlan decodes the saved plan src read from path, streaming.
func decodePlan(path string, src io.ReaderAt) (*reconcile.Plan, error) {
	return decodePlanFrom(path, fromStart(src))
}

// decodePlanFrom is decodePlan of the file read from src.
func decodePlanFrom(path string, src io.ReadSeeker) (*reconcile.Plan, error) {
	r := &errorReader{r: src}
	p, err := reconcile.ReadSaved(r)
	var fv *reconcile.FormatVersionError
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("read saved plan: %w", r.err)
	case errors.As(err, &fv):
		return nil, fmt.Errorf("saved plan %s has format version %d; this groupsync reads %d: make the plan again", path, fv.Have, reconcile.FormatVersion)
	case err != nil:
		return nil, fmt.Errorf("%s is not a saved plan: %w\nhint: to apply a manifest, name it with -f: groupsync apply -f %s", path, err, path)
	}
	return p, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"groupsync/internal/converge"
	"groupsync/internal/printable"
	"groupsync/internal/state"
)

// Exit codes (SPEC section 3).
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan --detailed-exitcode: changes to apply
	exitDrift   = 3 // plan --detailed-exitcode: only drift to fix by hand
)

// app is one invocation: its streams and environment, injected so that tests
// run commands in process.
type app struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) (string, bool)
	terminal bool // stdin and stdout are a terminal: prompts and live progress

	// tokens keeps the providers' token sources for the process.
	tokens tokenCache
	// clock judges token expiry and stamps what a command records (an
	// import's time, an export's header); nil means time.Now. Tests set it.
	clock func() time.Time
}

// now is the app's clock.
func (a *app) now() time.Time {
	if a.clock != nil {
		return a.clock()
	}
	return time.Now()
}

// exitCodeError carries an exit code other than 1 out of a command.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// errReported is an error already reported to the user.
var errReported = converge.ErrReported

type command struct {
	name    string
	summary string
	run     func(a *app, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"validate", "check manifests (no network, no state)", (*app).validate},
		{"plan", "show the calls that would converge the groups", (*app).plan},
		{"apply", "make those calls", (*app).apply},
		{"run", "plan and apply on a cron schedule", (*app).runScheduled},
		{"state", "inspect and repair the state file", (*app).stateCmd},
		{"export", "write a manifest of a provider's live groups", (*app).export},
		{"history", "create a Yunzhijia group's merged message history link", (*app).history},
		{"simulate", "serve both vendors' APIs from in-process simulators", (*app).simulate},
		{"show", "print a saved plan as the plan command printed it", (*app).show},
		{"schema", "print the manifest's JSON Schema (for editors)", (*app).schema},
		{"completion", "print a bash, zsh or fish completion script", (*app).completion},
	}
}

const usageText = `groupsync keeps Yunzhijia and Lunkr chat groups in the state YAML manifests declare.

Usage:
  groupsync <command> [flags] [arguments]

Commands:
%s
Common flags (every command that reads the state):
  --state FILE        state file (default groupsync.db, env GROUPSYNC_STATE)
  --sandbox           use in-process vendor simulators kept beside the state file
  --parallelism N     concurrent vendor calls (default 8)
  --log-format F      text or json (default text)

Examples:
  groupsync validate -f groups/
  groupsync plan --sandbox -f examples/groups.yaml
  groupsync apply --sandbox --auto-approve -f examples/groups.yaml

Run 'groupsync <command> --help' for a command's flags.
`

func (a *app) usage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usageText, b.String())
}

func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.usage(a.stderr)
		return exitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		a.usage(a.stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintln(a.stdout, "groupsync", version())
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return a.exitCode(c.run(a, ctx, args[1:]))
		}
	}
	fmt.Fprintf(a.stderr, "groupsync: unknown command %q\nhint: run 'groupsync --help' for the list of commands\n", args[0])
	return exitError
}

func (a *app) exitCode(err error) int {
	var ec exitCodeError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ec):
		return ec.code
	case errors.Is(err, errReported):
		return exitError
	}
	fmt.Fprintf(a.stderr, "groupsync: %v\n", err)
	return exitError
}

// logger returns the slog logger for --log-format.
func (a *app) logger(format string) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(a.stderr, nil)), nil
	case "json":
		// The text handler quotes what is not printable; the JSON one
		// leaves DEL, C1 controls and bidi overrides raw.
		return slog.New(slog.NewJSONHandler(printable.JSONWriter(a.stderr), nil)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// stringList is a repeatable string flag (-f a -f b).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// newFlagSet returns a FlagSet whose usage prints the command's synopsis and
// example before its flags, to the FlagSet's output. The flag package's own
// printing is silenced: parseArgs reports flag errors in one line with a hint,
// and prints the usage asked for with -h to stdout.
func (a *app) newFlagSet(name, synopsis, example string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: groupsync %s\n\nExample:\n  %s\n\nFlags:\n", synopsis, example)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags that may come before or after positional
// arguments; "--" ends the flags. -h or --help prints the usage to stdout
// and returns flag.ErrHelp.
func (a *app) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fs.SetOutput(a.stdout)
			fs.Usage()
			fs.SetOutput(io.Discard)
			return nil, err
		case err != nil:
			return nil, fmt.Errorf("%s: %v\nhint: run 'groupsync %s --help' for its flags", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// Parse consumed a "--": what follows is positional, dashes or not.
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// commonFlags are the flags of every command that reads the state.
type commonFlags struct {
	// state is the state location fit to print: a PostgreSQL URL's
	// password is redacted; stateRaw is as given, for opening it.
	state       string
	stateRaw    string
	sandbox     bool
	parallelism int
	logFormat   string
}

func (a *app) addCommon(fs *flag.FlagSet, c *commonFlags) {
	def := "groupsync.db"
	if v, ok := a.getenv("GROUPSYNC_STATE"); ok && v != "" {
		def = v
	}
	(&stateValue{c}).Set(def)
	fs.Var(&stateValue{c}, "state", "state `file`, postgres:// URL or libpq connection string (env GROUPSYNC_STATE)")
	fs.BoolVar(&c.sandbox, "sandbox", false, "use in-process vendor simulators whose world is kept beside the state file")
	fs.IntVar(&c.parallelism, "parallelism", 8, "concurrent vendor calls")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
}

// applyFlags are the flags an `apply FILE` of a plan made with c needs to
// see the same state and vendors: --sandbox, and --state unless it is the
// default (or GROUPSYNC_STATE's).
func (c *commonFlags) applyFlags(getenv func(string) (string, bool)) string {
	if c.sandbox {
		return " --sandbox" + c.stateArg(getenv)
	}
	return c.stateArg(getenv)
}

func (c *commonFlags) check() error {
	if c.parallelism < 1 {
		return fmt.Errorf("--parallelism: must be at least 1, got %d", c.parallelism)
	}
	if c.sandbox && state.IsPostgres(c.state) {
		return errors.New("--sandbox keeps its simulated world in a file beside the state file: use it with a state file, not PostgreSQL")
	}
	return nil
}

// location is the state location to open (a PostgreSQL URL with its
// password): never print it.
func (c *commonFlags) location() string {
	if c.stateRaw == "" {
		return c.state // set directly, not through the flag
	}
	return c.stateRaw
}

// stateValue is the --state flag: it keeps the location as given for
// opening, and a redacted copy for every message (connection strings are
// secrets).
type stateValue struct{ c *commonFlags }

func (v *stateValue) Set(s string) error {
	v.c.stateRaw = s
	v.c.state = state.RedactLocation(s)
	return nil
}

func (v *stateValue) String() string {
	if v == nil || v.c == nil {
		return ""
	}
	return v.c.state
}

var _ = os.Stderr

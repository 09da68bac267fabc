package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"groupsync/internal/vendors/lunkr"
	"groupsync/internal/vendors/simfault"
	"groupsync/internal/vendors/yunzhijia"
)

// secretNeedle is in every token the leak tests use, whatever its
// encoding (its characters need no escaping in a URL, JSON or a log).
const secretNeedle = "SECRET-8f3a9c"

// secretTokens: a plain token, and one with characters a URL query escapes.
var secretTokens = []string{"tok-" + secretNeedle, "tok-" + secretNeedle + "/+=="}

// leakScan collects everything groupsync wrote and checks it for the token.
type leakScan struct {
	t      *testing.T
	secret string
	n      int // outputs and files checked
}

func (l *leakScan) check(what, s string) {
	l.t.Helper()
	l.n++
	needles := []string{secretNeedle, l.secret, url.QueryEscape(l.secret), url.PathEscape(l.secret)}
	for _, enc := range simfault.TokenEncodings {
		needles = append(needles, simfault.EncodeToken(l.secret, enc))
	}
	for _, needle := range needles {
		if i := strings.Index(s, needle); i >= 0 {
			lo, hi := max(0, i-120), min(len(s), i+len(needle)+40)
			l.t.Errorf("the token appears in %s: …%s…", what, s[lo:hi])
			return
		}
	}
}

func (l *leakScan) result(r result) {
	l.t.Helper()
	what := "groupsync " + strings.Join(r.args, " ")
	l.check("stdout of "+what, r.stdout)
	l.check("stderr of "+what, r.stderr)
}

// files checks every file under dir, raw bytes, except those named in skip
// (the token command, which holds the token by design).
func (l *leakScan) files(dir string, skip ...string) {
	l.t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		for _, s := range skip {
			if path == s {
				return nil
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		l.check("file "+filepath.Base(path), string(data))
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
}

// TestSecretsNeverLeak runs every command, in success and in failure, with
// a distinctive token and checks that it appears in no stdout, stderr, log
// line, metric, saved plan, QR code file or state-file byte (the .db, its
// -wal left by a killed apply, the sandbox world).
func TestSecretsNeverLeak(t *testing.T) {
	groupsyncBinary(t)
	for i, secret := range secretTokens {
		// The second token only checks the escaped forms on the paths that
		// carry a URL into an error.
		full := i == 0
		t.Run(fmt.Sprintf("token-%d", i), func(t *testing.T) {
			t.Parallel()
			// Failing commands spend most of their time in retry backoff:
			// they run side by side.
			t.Run("happy-path", func(t *testing.T) { t.Parallel(); leakHappyPath(t, secret, envToken) })
			t.Run("token-command", func(t *testing.T) { t.Parallel(); leakTokenCommand(t, secret) })
			t.Run("auth", func(t *testing.T) { t.Parallel(); leakAuth(t, secret) })
			t.Run("bad-token", func(t *testing.T) { t.Parallel(); leakBadToken(t, secret) })
			t.Run("unreachable", func(t *testing.T) { t.Parallel(); leakUnreachable(t, secret) })
			for _, mode := range []string{"500", "502", "401", "vendor-error", "unreadable", "500-encodings"} {
				// Every command on one echo; the slow ones (retried) on the others.
				all := mode != "502" && mode != "unreadable"
				if !full && mode != "500" && mode != "vendor-error" && mode != "500-encodings" {
					continue
				}
				t.Run("echo-"+mode, func(t *testing.T) { t.Parallel(); leakEcho(t, secret, mode, all) })
			}
			t.Run("simulate", func(t *testing.T) { t.Parallel(); leakSimulate(t, secret) })
			t.Run("echo-encodings", func(t *testing.T) { t.Parallel(); leakEchoEncodings(t, secret) })
		})
	}
}

// leakEnv is a working directory with a manifest and the binary.
type leakEnv struct {
	dir, manifest, state string
	cli                  *cli
	scan                 *leakScan
}

// newLeakEnv writes a manifest of two groups per vendor; with pin, the
// first of each is pinned to an id, so that every plan reads from the
// vendors (for vendors that fail anyway).
func newLeakEnv(t *testing.T, secret, yzjURL, lkURL string, tok tokenLine, pin bool) *leakEnv {
	dir := t.TempDir()
	e := &leakEnv{dir: dir, state: filepath.Join(dir, "groupsync.db"), scan: &leakScan{t: t, secret: secret}}
	e.manifest = writeManifest(t, dir, yzjURL, lkURL, tok, fleet{Prefix: "s", Yunzhijia: 2, Lunkr: 2, Members: 2, Notices: 1, Banners: 1, Pin: pin})
	e.cli = newCLI(t, dir, tokenEnv+"="+secret, "GROUPSYNC_STATE="+e.state)
	return e
}

// run runs a command, expecting one of codes, and scans its output.
func (e *leakEnv) run(t *testing.T, args []string, codes ...int) result {
	t.Helper()
	r := e.cli.runOK(t, args, codes...)
	e.scan.result(r)
	return r
}

func leakHappyPath(t *testing.T, secret string, tok tokenLine) {
	w := newVendorWorld(t, secret)
	e := newLeakEnv(t, secret, w.yzjURL, w.lkURL, tok, false)
	m := []string{"-f", e.manifest}
	e.run(t, append([]string{"validate"}, m...))
	e.run(t, append([]string{"plan"}, m...))
	e.run(t, append([]string{"plan", "--format", "markdown"}, m...))
	e.run(t, append([]string{"plan", "--format", "json", "--log-format", "json"}, m...))
	e.run(t, append([]string{"plan", "--detailed-exitcode", "--out", filepath.Join(e.dir, "plan.json")}, m...), 2)
	e.run(t, []string{"apply", filepath.Join(e.dir, "plan.json")})
	e.run(t, append([]string{"export", "--provider", "kingdee", "--from-state", "-o", filepath.Join(e.dir, "exported.yaml")}, m...))
	e.run(t, append([]string{"export", "--provider", "coremail", "--member", "lead0@example.com", "--with-providers"}, m...))

	// Faults: retries are logged, lost answers reported, in both log formats.
	w.yzj.SetFaults(yunzhijia.Faults{Status503Rate: 0.3, Status429Rate: 0.1, Seed: 3})
	w.lk.SetFaults(lunkr.Faults{Status503Rate: 0.3, Status429Rate: 0.1, Seed: 4})
	e.run(t, append([]string{"plan", "--parallelism", "1"}, m...), 0, 1, 2)
	w.quiet()
	two := writeManifest(t, e.dir, w.yzjURL, w.lkURL, tok, fleet{Prefix: "s2", Yunzhijia: 3, Lunkr: 3, Members: 1, Notices: 2})
	w.yzj.FailNextAfterApply(yunzhijia.CallCreateGroup, 1)
	w.yzj.FailNextAfterApply(yunzhijia.CallNotice, 1)
	w.lk.FailNextAfterApply(lunkr.CallCreate, 1)
	state2 := filepath.Join(e.dir, "second.db")
	e.run(t, []string{"apply", "--auto-approve", "-f", two, "--state", state2, "--log-format", "json"}, 1)
	e.run(t, []string{"plan", "-f", two, "--state", state2}, 1)
	e.run(t, []string{"apply", "--auto-approve", "-f", two, "--state", state2}, 1)

	// A killed apply leaves the state's -wal behind: scanned below.
	w.setChaos(chaosConfig{MinLatency: 20 * time.Millisecond, MaxLatency: 30 * time.Millisecond})
	three := writeManifest(t, e.dir, w.yzjURL, w.lkURL, tok, fleet{Prefix: "s3", Yunzhijia: 6, Members: 1, Notices: 1})
	killedState := filepath.Join(e.dir, "killed.db")
	r, killed := e.cli.killAfter(t, 150*time.Millisecond, "apply", "--auto-approve", "-f", three, "--state", killedState, "--parallelism", "1")
	e.scan.result(r)
	if _, err := os.Stat(killedState + "-wal"); killed && err != nil {
		t.Errorf("the killed apply left no -wal to scan: %v", err)
	}
	e.scan.files(e.dir, e.manifest)
	w.quiet()

	e.run(t, append([]string{"plan", "--refresh=false"}, m...))
	e.run(t, []string{"state", "list"})
	e.run(t, []string{"state", "show", "s-yzj-000"})
	e.run(t, []string{"state", "show", "s-lk-000"})
	e.run(t, append([]string{"history", "s-yzj-000", "--png", filepath.Join(e.dir, "qr.png")}, m...))
	e.run(t, append([]string{"run", "--once", "--log-format", "json"}, m...))
	leakScheduledRun(t, e)

	// The sandbox ignores the token; with it set, the sandbox world holds
	// none of it either.
	e.run(t, append([]string{"apply", "--sandbox", "--auto-approve", "--state", filepath.Join(e.dir, "sandbox.db")}, m...))
	e.run(t, append([]string{"plan", "--sandbox", "--state", filepath.Join(e.dir, "sandbox.db")}, m...))
	e.scan.files(e.dir, e.manifest)
}

// leakScheduledRun runs `groupsync run` with /metrics served, scrapes
// /metrics and /healthz after a run, and stops it with SIGTERM.
func leakScheduledRun(t *testing.T, e *leakEnv) {
	t.Helper()
	addr := freeAddr(t)
	cmd, stdout, stderr := e.cli.command(context.Background(), "run", "-f", e.manifest, "--schedule", "@every 1s", "--listen", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var bodies []string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		m, err := httpGet("http://" + addr + "/metrics")
		if err != nil || !strings.Contains(m, "groupsync_vendor_calls_total{") {
			continue // no run made a call yet
		}
		h, _ := httpGet("http://" + addr + "/healthz")
		bodies = append(bodies, m, h)
		if len(bodies) >= 4 { // two scrapes, at least a run apart
			break
		}
		time.Sleep(1200 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if len(bodies) == 0 {
		t.Errorf("groupsync run served no metrics\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	for _, b := range bodies {
		e.scan.check("/metrics or /healthz of groupsync run", b)
	}
	e.scan.check("stdout of groupsync run", stdout.String())
	e.scan.check("stderr of groupsync run", stderr.String())
}

func httpGet(u string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// leakTokenCommand: the token comes from a tokenCommand's stdout; also a
// command that prints it and fails, and a refresh after the vendor refuses it.
func leakTokenCommand(t *testing.T, secret string) {
	dir := t.TempDir()
	script := filepath.Join(dir, "token.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\necho '"+secret+"'\n"), 0o700))
	failing := filepath.Join(dir, "failing.sh")
	must(t, os.WriteFile(failing, []byte("#!/bin/sh\necho '"+secret+"'\necho '"+secret+"' >&2\nexit 3\n"), 0o700))

	w := newVendorWorld(t, secret)
	e := newLeakEnv(t, secret, w.yzjURL, w.lkURL, commandToken(script), false)
	m := []string{"-f", e.manifest}
	e.run(t, append([]string{"plan"}, m...))
	e.run(t, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...))
	e.run(t, append([]string{"run", "--once"}, m...))

	// The vendor refuses the token: groupsync runs the command again, gets
	// the same token, and fails.
	refusing := newVendorWorld(t, "another-token")
	e2 := newLeakEnv(t, secret, refusing.yzjURL, refusing.lkURL, commandToken(script), true)
	e2.run(t, []string{"plan", "-f", e2.manifest}, 1)
	e2.run(t, []string{"apply", "--auto-approve", "-f", e2.manifest}, 1)

	e3 := newLeakEnv(t, secret, refusing.yzjURL, refusing.lkURL, commandToken(failing), true)
	e3.run(t, []string{"plan", "-f", e3.manifest}, 1)
	e3.run(t, []string{"apply", "--auto-approve", "-f", e3.manifest}, 1)
	for _, x := range []*leakEnv{e, e2, e3} {
		x.scan.files(x.dir, x.manifest, script, failing)
	}
}

// leakBadToken: the vendors refuse the token.
func leakBadToken(t *testing.T, secret string) {
	w := newVendorWorld(t, "another-token")
	e := newLeakEnv(t, secret, w.yzjURL, w.lkURL, envToken, true)
	m := []string{"-f", e.manifest}
	e.run(t, append([]string{"plan"}, m...), 1)
	e.run(t, append([]string{"plan", "--format", "json", "--out", filepath.Join(e.dir, "plan.json")}, m...), 1)
	e.run(t, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...), 1)
	e.run(t, append([]string{"run", "--once"}, m...), 1)
	e.run(t, append([]string{"history", "s-yzj-000"}, m...), 1)
	e.run(t, []string{"state", "list"})
	e.scan.files(e.dir, e.manifest)
}

// leakUnreachable: nothing listens at the endpoints (Go's *url.Error
// carries the whole URL).
func leakUnreachable(t *testing.T, secret string) {
	base := "http://" + freeAddr(t) + "/"
	e := newLeakEnv(t, secret, base, base, envToken, true)
	m := []string{"-f", e.manifest}
	e.run(t, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...), 1)
	e.run(t, append([]string{"plan"}, m...), 1)
	e.run(t, append([]string{"history", "s-yzj-000"}, m...), 1)
	e.scan.files(e.dir, e.manifest)
}

// echoHandler answers every call with the request echoed back, token
// included, as a careless vendor or proxy would.
type echoHandler struct {
	mode   string // 500, 502, 401, vendor-error, unreadable
	vendor string
}

func (h echoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	text := fmt.Sprintf("%s %s (request uri %s, token %s, body %s)", r.Method, r.URL, r.RequestURI, r.URL.Query().Get("accessToken"), body)
	w.Header().Set("Content-Type", "application/json")
	switch h.mode {
	case "500":
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, text)
	case "502":
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>bad gateway: %s</html>", text)
	case "401":
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error": %q}`, "invalid token in "+text)
	case "unreadable":
		fmt.Fprintf(w, "<html>%s</html>", text)
	case "500-encodings":
		// A proxy's error page repeating the token in every encoding.
		w.WriteHeader(http.StatusInternalServerError)
		tok := r.URL.Query().Get("accessToken")
		for _, enc := range simfault.TokenEncodings {
			fmt.Fprintf(w, "%s: %s\n", enc, simfault.EncodeToken(tok, enc))
		}
	default: // a vendor error whose message repeats the request
		if h.vendor == "lunkr" {
			fmt.Fprintf(w, `{"code":"10001","msg":%q}`, text)
		} else {
			fmt.Fprintf(w, `{"success":false,"data":null,"error":%q,"errorCode":400}`, text)
		}
	}
}

func leakEcho(t *testing.T, secret, mode string, all bool) {
	ys := httptest.NewServer(echoHandler{mode: mode, vendor: "yunzhijia"})
	defer ys.Close()
	ls := httptest.NewServer(echoHandler{mode: mode, vendor: "lunkr"})
	defer ls.Close()
	e := newLeakEnv(t, secret, ys.URL+"/", ls.URL+"/", envToken, true)
	m := []string{"-f", e.manifest}
	// Nothing but the pins is bound: apply sends the creates, and their
	// echoed failures are reported; the next plans report the unknown
	// outcomes and the failed searches for them.
	e.run(t, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...), 1)
	e.run(t, append([]string{"plan", "--out", filepath.Join(e.dir, "plan.json")}, m...), 1)
	if !all {
		e.scan.files(e.dir, e.manifest)
		return
	}
	e.run(t, append([]string{"plan", "--format", "markdown"}, m...), 1)
	e.run(t, append([]string{"history", "s-yzj-000"}, m...), 1)
	e.run(t, append([]string{"export", "--provider", "kingdee", "--group-id", "5c00000000000000000000a1"}, m...), 1)
	e.run(t, append([]string{"export", "--provider", "coremail", "--member", "lead0@example.com"}, m...), 1)
	e.run(t, append([]string{"run", "--once"}, m...), 1)
	e.run(t, []string{"state", "list"})
	e.run(t, []string{"state", "show", "s-yzj-001"}, 0, 1)
	e.scan.files(e.dir, e.manifest)
}

// leakSimulate: `groupsync simulate --token` serves the simulators with
// the token it is given; it must not print it back.
func leakSimulate(t *testing.T, secret string) {
	e := newLeakEnv(t, secret, "http://127.0.0.1:1/", "http://127.0.0.1:1/", envToken, false)
	cmd, stdout, stderr := e.cli.command(context.Background(), "simulate", "--listen", "127.0.0.1:0", "--token", secret)
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(stdout, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// Wait for the banner, then make a call with the token.
	lines := bufio.NewScanner(pr)
	endpoint := ""
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "yunzhijia" {
			endpoint = f[2]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if endpoint != "" {
		resp, err := http.Post(endpoint+"xtinterface/group/groupUsers?accessToken="+url.QueryEscape(secret), "application/json",
			strings.NewReader(`{"currentUid":"5b503ee9e4b02abb5318b23e","groupId":"nope"}`))
		if err == nil {
			resp.Body.Close()
		}
	} else {
		t.Errorf("simulate printed no endpoint")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	pw.Close()
	e.scan.check("stdout of groupsync simulate --token", stdout.String())
	e.scan.check("stderr of groupsync simulate --token", stderr.String())
}

// leakEchoEncodings: the simulators refuse calls with a message that echoes
// the token in each encoding of simfault.TokenEncodings in turn (raw, query-
// and path-escaped in either hex case, JSON-escaped with \/ or \u002b or
// \u002B, every character \u-escaped): nothing shows it, in text or JSON
// logs, outputs or the state.
func leakEchoEncodings(t *testing.T, secret string) {
	w := newVendorWorld(t, secret)
	e := newLeakEnv(t, secret, w.yzjURL, w.lkURL, envToken, false)
	m := []string{"-f", e.manifest}
	for _, enc := range simfault.TokenEncodings {
		for _, call := range []string{yunzhijia.CallCreateGroup, yunzhijia.CallGroupUsers, yunzhijia.CallNotice} {
			w.yzj.EchoTokenNext(call, enc, 1)
		}
		for _, call := range []string{lunkr.CallCreate, lunkr.CallInfo, lunkr.CallList} {
			w.lk.EchoTokenNext(call, enc, 1)
		}
		e.run(t, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...), 0, 1)
		w.yzj.EchoTokenNext(yunzhijia.CallGroupUsers, enc, 1)
		w.lk.EchoTokenNext(lunkr.CallInfo, enc, 1)
		e.run(t, append([]string{"plan", "--parallelism", "1"}, m...), 0, 1, 2)
		w.yzj.EchoTokenNext(yunzhijia.CallGroupUsers, enc, 1)
		e.run(t, append([]string{"plan", "--format", "markdown"}, m...), 0, 1, 2)
	}
	// Echoes still pending (for calls no apply reached) are spent here.
	e.run(t, append([]string{"apply", "--auto-approve"}, m...), 0, 1)
	e.run(t, append([]string{"apply", "--auto-approve"}, m...))
	e.run(t, []string{"state", "list"})
	e.scan.files(e.dir, e.manifest)
}

package reliability

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// authLines are the providers' auth: blocks, both secrets from the leak
// tests' variable (the secret under test).
const (
	authYZJLine = "auth: {eid: \"10109\", secret: \"${" + tokenEnv + "}\"}"
	authLKLine  = "auth: {clientId: lk-app-1, clientSecret: \"${" + tokenEnv + "}\"}"
)

// newAuthLeakEnv is newLeakEnv with auth: blocks in place of tokens.
func newAuthLeakEnv(t *testing.T, secret, yzjURL, lkURL string, pin bool) *leakEnv {
	e := newLeakEnv(t, secret, yzjURL, lkURL, "AUTH-LINE", pin)
	data, err := os.ReadFile(e.manifest)
	must(t, err)
	text := strings.Replace(string(data), "AUTH-LINE", authYZJLine, 1)
	text = strings.Replace(text, "AUTH-LINE", authLKLine, 1)
	must(t, os.WriteFile(e.manifest, []byte(text), 0o644))
	return e
}

// leakAuth: the secret is an auth: secret, and the tokens come from the
// simulators' token endpoints. Neither the secret, nor a token the
// endpoints issued, nor an echo of either in a token endpoint's error,
// appears in any output or file.
func leakAuth(t *testing.T, secret string) {
	w := newVendorWorld(t, "")
	w.yzj.SetAuth("10109", secret, time.Hour)
	w.lk.SetAuth("lk-app-1", secret, time.Hour)
	e := newAuthLeakEnv(t, secret, w.yzjURL, w.lkURL, false)
	m := []string{"-f", e.manifest}
	var outs []string
	run := func(e *leakEnv, args []string, codes ...int) {
		t.Helper()
		r := e.run(t, args, codes...)
		outs = append(outs, r.stdout, r.stderr)
	}
	run(e, append([]string{"plan"}, m...))
	run(e, append([]string{"apply", "--auto-approve", "--log-format", "json"}, m...))
	run(e, append([]string{"plan", "--format", "json"}, m...))
	// Tokens revoked: refused, fetched again, retried.
	issued := append(w.yzj.IssuedTokens(), w.lk.IssuedTokens()...)
	w.yzj.RevokeTokens()
	w.lk.RevokeTokens()
	run(e, append([]string{"run", "--once", "--log-format", "json"}, m...))
	run(e, []string{"state", "list"})
	e.scan.files(e.dir, e.manifest)
	issued = append(issued, w.yzj.IssuedTokens()...)
	issued = append(issued, w.lk.IssuedTokens()...)
	if len(issued) < 6 {
		t.Fatalf("the token endpoints issued %d tokens, want at least 6", len(issued))
	}

	// The endpoints refuse the secret.
	wrong := newVendorWorld(t, "")
	wrong.yzj.SetAuth("10109", "another-secret", time.Hour)
	wrong.lk.SetAuth("lk-app-1", "another-secret", time.Hour)
	e2 := newAuthLeakEnv(t, secret, wrong.yzjURL, wrong.lkURL, true)
	run(e2, []string{"plan", "-f", e2.manifest}, 1)
	run(e2, []string{"apply", "--auto-approve", "--log-format", "json", "-f", e2.manifest}, 1)
	run(e2, []string{"run", "--once", "-f", e2.manifest}, 1)
	e2.scan.files(e2.dir, e2.manifest)

	// Token endpoints that echo the request, secret included, in their
	// errors; and none at all.
	for _, mode := range []string{"vendor-error", "401", "500", "unreadable"} {
		ys := httptest.NewServer(echoHandler{mode: mode, vendor: "yunzhijia"})
		ls := httptest.NewServer(echoHandler{mode: mode, vendor: "lunkr"})
		e3 := newAuthLeakEnv(t, secret, ys.URL+"/", ls.URL+"/", true)
		run(e3, []string{"plan", "-f", e3.manifest}, 1)
		if mode == "vendor-error" && !strings.Contains(outs[len(outs)-2], "REDACTED") {
			t.Errorf("the token endpoint's echo of the request was not seen:\n%s", outs[len(outs)-2])
		}
		run(e3, []string{"apply", "--auto-approve", "--log-format", "json", "-f", e3.manifest}, 1)
		e3.scan.files(e3.dir, e3.manifest)
		ys.Close()
		ls.Close()
	}
	base := "http://" + freeAddr(t) + "/"
	e4 := newAuthLeakEnv(t, secret, base, base, true)
	run(e4, []string{"plan", "-f", e4.manifest}, 1)

	for _, tok := range issued {
		for i, out := range outs {
			if strings.Contains(out, tok) {
				t.Errorf("an issued token appears in output %d: %s", i, out)
			}
		}
		for _, dir := range []string{e.dir, e2.dir} {
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if data, _ := os.ReadFile(path); strings.Contains(string(data), tok) {
					t.Errorf("an issued token appears in %s", filepath.Base(path))
				}
				return nil
			})
		}
	}
	// Each provider's failure is said once per command, not per group.
	for _, out := range outs {
		if n := strings.Count(out, "provider kingdee: no access token"); n > 2 {
			t.Errorf("the provider's token error is said %d times:\n%s", n, out)
		}
	}
}

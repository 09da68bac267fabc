package lunkr

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

// TestTokenInNoError forces every kind of error, with tokens a server also
// echoes back, and checks that no error text carries the token.
func TestTokenInNoError(t *testing.T) {
	for _, secret := range []string{"s3cr3t-LUNKR-TOKEN-5d41402a", "s3cr3t/+= tøken&x=1"} {
		t.Run(secret, func(t *testing.T) { checkTokenInNoError(t, secret) })
	}
}

func checkTokenInNoError(t *testing.T, secret string) {
	ctx := context.Background()
	create := vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}}
	kinds := map[error]bool{}
	check := func(name string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		var ve *vendors.Error
		if !errors.As(err, &ve) {
			t.Errorf("%s: %T is not a *vendors.Error", name, err)
		} else {
			kinds[ve.Kind] = true
		}
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			if strings.Contains(err.Error(), form) {
				t.Errorf("%s: error carries the token: %s", name, err)
			}
		}
	}

	// Against the simulator, which accepts the secret.
	sim := NewSimulator(secret)
	h := serve(t, sim, vendors.StaticToken("coremail", secret))
	h.tr.MaxAttempts = 2
	id := sim.SeedGroup(vendors.Group{Name: "g", Members: members("a@example.com")})

	_, err := h.client.ReadGroup(ctx, "424242", "")
	check("not found", err)
	sim.ForceCode(CallInfo, CodeNoPermission, 1)
	_, err = h.client.ReadGroup(ctx, id, "")
	check("no permission", err)
	_, err = h.client.CreateGroup(ctx, vendors.CreateRequest{Name: "g", Type: "bad", Members: []string{"a@example.com"}})
	check("bad group type", err)
	sim.ForceCode(CallList, CodeUnknownError, 1)
	_, err = h.client.ListGroups(ctx, "a@example.com")
	check("vendor", err)
	check("unsupported", h.client.AddMembers(ctx, id, "", nil))
	sim.SetFaults(Faults{Status429Rate: 1, Calls: []string{CallInfo}})
	_, err = h.client.ReadGroup(ctx, id, "")
	check("rate limited", err)
	sim.SetFaults(Faults{Status503Rate: 1, Calls: []string{CallInfo}})
	_, err = h.client.ReadGroup(ctx, id, "")
	check("transient 503", err)
	sim.SetFaults(Faults{})
	sim.FailNextAfterApply(CallCreate, 1)
	_, err = h.client.CreateGroup(ctx, create)
	check("unknown outcome 500", err)
	sim.SetFaults(Faults{DropRate: 1})
	_, err = h.client.CreateGroup(ctx, create)
	check("unknown outcome dropped", err)
	sim.SetFaults(Faults{Latency: time.Second, Calls: []string{CallInfo}})
	h.tr.HTTP = vendors.NewHTTPClient(20 * time.Millisecond)
	_, err = h.client.ReadGroup(ctx, id, "")
	check("timeout", err)
	h.tr.HTTP = vendors.NewHTTPClient(5 * time.Second)
	sim.SetFaults(Faults{})
	sim.SetTokens("some-other-token")
	_, err = h.client.ReadGroup(ctx, id, "")
	check("unauthorized", err)

	// A hostile or broken server that echoes the request URL back.
	echo := func(status int, body func(u string) string) *harness {
		e := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body(r.URL.String())))
		}), vendors.StaticToken("coremail", secret))
		e.tr.MaxAttempts = 2
		return e
	}
	asMsg := func(code string) func(string) string {
		return func(u string) string { return `{"code":"` + code + `","msg":"bad request ` + u + `"}` }
	}
	_, err = echo(http.StatusOK, asMsg(CodeGroupNotFound)).client.ReadGroup(ctx, "1", "")
	check("echoed in a vendor message", err)
	_, err = echo(http.StatusOK, asMsg(CodeInvalidToken)).client.ReadGroup(ctx, "1", "")
	check("echoed in an invalid-token message", err)
	_, err = echo(http.StatusBadRequest, func(u string) string { return "bad " + u }).client.ReadGroup(ctx, "1", "")
	check("echoed in a 400 body", err)
	_, err = echo(http.StatusOK, func(u string) string { return "<html>" + u }).client.ReadGroup(ctx, "1", "")
	check("echoed in an unreadable answer", err)
	_, err = echo(http.StatusOK, func(u string) string { return "<html>" + u }).client.CreateGroup(ctx, create)
	check("echoed in an unreadable create answer", err)
	_, err = echo(http.StatusBadGateway, func(u string) string { return u }).client.CreateGroup(ctx, create)
	check("echoed in a 502 body", err)

	// An unreachable endpoint: a closed listener's address (*url.Error).
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead := serve(t, http.NotFoundHandler(), vendors.StaticToken("coremail", secret))
	dead.tr.BaseURL = "http://" + addr + "/"
	_, err = dead.client.ReadGroup(ctx, "1", "")
	check("unreachable read", err)
	if err != nil && !strings.Contains(err.Error(), "REDACTED") {
		t.Errorf("unreachable: want the redacted URL in %q", err)
	}
	_, err = dead.client.CreateGroup(ctx, create)
	check("unreachable create", err)

	for _, k := range []error{vendors.ErrNotFound, vendors.ErrNoPermission, vendors.ErrBadRequest, vendors.ErrUnauthorized,
		vendors.ErrRateLimited, vendors.ErrTransient, vendors.ErrUnknownOutcome, vendors.ErrUnsupported, vendors.ErrVendor} {
		if !kinds[k] {
			t.Errorf("no error of kind %v was forced", k)
		}
	}
}

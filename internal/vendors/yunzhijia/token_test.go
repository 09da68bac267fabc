package yunzhijia

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

// commandToken is a tokenCommand whose successive runs print outputs.
func commandToken(outputs ...string) (*vendors.TokenSource, func() int) {
	var mu sync.Mutex
	runs := 0
	ts := vendors.CommandToken("kingdee", []string{"yzj-token"})
	ts.Run = func(ctx context.Context, argv []string) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		out := outputs[min(runs, len(outputs)-1)]
		runs++
		return []byte(out + "\n"), nil
	}
	return ts, func() int { mu.Lock(); defer mu.Unlock(); return runs }
}

func TestTokenCommandRefreshedOnce(t *testing.T) {
	e := newEnv(t)
	e.seed(gid, alice)
	ts, runs := commandToken("TOK-stale-1", tok)
	e.tr.Token = ts
	if err := e.c.AddMembers(context.Background(), gid, alice, []string{bob}); err != nil {
		t.Fatal(err)
	}
	if runs() != 2 || e.sim.Calls()[CallAddGroupUser] != 2 {
		t.Fatalf("command ran %d times, %d calls; want 2 and 2", runs(), e.sim.Calls()[CallAddGroupUser])
	}
	// The fresh token is kept.
	if _, err := e.c.ReadGroup(context.Background(), gid, alice); err != nil || runs() != 2 {
		t.Fatalf("read: %v, command ran %d times; want no new run", err, runs())
	}
}

func TestTokenCommandRefreshedOnlyOnce(t *testing.T) {
	e := newEnv(t)
	ts, runs := commandToken("TOK-stale-1", "TOK-stale-2", "TOK-stale-3")
	e.tr.Token = ts
	_, err := e.c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice})
	if !errors.Is(err, vendors.ErrUnauthorized) {
		t.Fatalf("error %v, want ErrUnauthorized", err)
	}
	if runs() != 2 || e.sim.Calls()[CallCreateGroup] != 2 || len(e.sim.Groups()) != 0 {
		t.Fatalf("command ran %d times, %d calls, %d groups; want 2, 2, 0", runs(), e.sim.Calls()[CallCreateGroup], len(e.sim.Groups()))
	}
}

// TestTokenRefreshedOnHTTP401: a gateway that refuses the token with HTTP
// 401 rather than in the envelope.
func TestTokenRefreshedOnHTTP401(t *testing.T) {
	sim := NewSimulator(tok)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("accessToken") != tok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ts, runs := commandToken("TOK-stale-1", tok)
	c := New(newTransport(srv.URL+"/", ts, nil))
	if _, err := c.CreateGroup(context.Background(), vendors.CreateRequest{Operator: alice}); err != nil {
		t.Fatal(err)
	}
	if runs() != 2 || len(sim.Groups()) != 1 {
		t.Fatalf("command ran %d times, %d groups; want 2, 1", runs(), len(sim.Groups()))
	}
}

// TestTokenInNoError forces every kind of error and checks that neither the
// token nor its URL-escaped form appears in any rendering of it.
func TestTokenInNoError(t *testing.T) {
	const wrong = "TOK-wrong+/=Qq7"
	ctx := context.Background()
	type forced struct {
		name string
		kind error
		err  error
	}
	var got []forced
	add := func(name string, kind error, err error) { got = append(got, forced{name, kind, err}) }

	e := newEnv(t)
	e.seed(gid, alice)
	_, err := e.c.ReadGroup(ctx, "nope", alice)
	add("not found", vendors.ErrNotFound, err)
	_, err = e.c.ReadGroup(ctx, gid, bob)
	add("no permission", vendors.ErrNoPermission, err)
	_, err = e.c.PostNotice(ctx, gid, alice, vendors.Notice{Title: strings.Repeat("x", 41), Content: "c"})
	add("bad request", vendors.ErrBadRequest, err)
	_, err = e.c.ListGroups(ctx, alice)
	add("unsupported", vendors.ErrUnsupported, err)

	e.sim.SetFaults(Faults{Status429Rate: 1})
	_, err = e.c.ReadGroup(ctx, gid, alice)
	add("rate limited", vendors.ErrRateLimited, err)
	e.sim.SetFaults(Faults{Status503Rate: 1})
	_, err = e.c.ReadGroup(ctx, gid, alice)
	add("transient 503", vendors.ErrTransient, err)
	e.sim.SetFaults(Faults{LoseAnswerRate: 1})
	_, err = e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	add("unknown outcome (500)", vendors.ErrUnknownOutcome, err)
	e.sim.SetFaults(Faults{DropRate: 1})
	_, err = e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	add("unknown outcome (dropped)", vendors.ErrUnknownOutcome, err)
	e.sim.SetFaults(Faults{Latency: time.Second})
	e.tr.HTTP.Timeout = 30 * time.Millisecond
	_, err = e.c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	add("unknown outcome (timeout)", vendors.ErrUnknownOutcome, err)
	_, err = e.c.ReadGroup(ctx, gid, alice)
	add("transient (timeout)", vendors.ErrTransient, err)

	// Refused tokens: a fixed one, and a command's that stays refused.
	e2 := newEnv(t)
	e2.tr.Token = vendors.StaticToken("kingdee", wrong)
	_, err = e2.c.ReadGroup(ctx, gid, alice)
	add("unauthorized", vendors.ErrUnauthorized, err)
	ts, _ := commandToken(wrong, tok+"-old")
	e2.tr.Token = ts
	_, err = e2.c.ReadGroup(ctx, gid, alice)
	add("unauthorized after refresh", vendors.ErrUnauthorized, err)

	// Answers that echo the token.
	echo := newRawServer(t, 200, `{"success":false,"data":null,"error":"bad accessToken=`+url.QueryEscape(tok)+` (`+tok+`)","errorCode":999}`)
	c := New(newTransport(echo.URL+"/", vendors.StaticToken("kingdee", tok), noSleep))
	_, err = c.ReadGroup(ctx, gid, alice)
	add("vendor error echoing the token", vendors.ErrVendor, err)
	for _, st := range []int{200, 400, 502} {
		junk := newRawServer(t, st, "<html>upstream "+tok+" failed</html>")
		c = New(newTransport(junk.URL+"/", vendors.StaticToken("kingdee", tok), noSleep))
		_, err = c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
		kind := vendors.ErrUnknownOutcome
		if st == 400 {
			kind = vendors.ErrBadRequest
		}
		add(fmt.Sprintf("HTTP %d echoing the token", st), kind, err)
	}

	// An unreachable endpoint: Go's *url.Error prints the whole URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c = New(newTransport("http://"+addr+"/", vendors.StaticToken("kingdee", tok), noSleep))
	_, err = c.ReadGroup(ctx, gid, alice)
	add("unreachable (read)", vendors.ErrTransient, err)
	_, err = c.CreateGroup(ctx, vendors.CreateRequest{Operator: alice})
	add("unreachable (create, not sent)", vendors.ErrTransient, err)

	seen := map[error]bool{}
	for _, f := range got {
		if !errors.Is(f.err, f.kind) {
			t.Errorf("%s: error %v, want kind %v", f.name, f.err, f.kind)
		}
		seen[f.kind] = true
		for _, s := range renderings(f.err) {
			for _, secret := range []string{tok, url.QueryEscape(tok), wrong, url.QueryEscape(wrong)} {
				if strings.Contains(s, secret) {
					t.Errorf("%s: token %q in error %q", f.name, secret, s)
				}
			}
		}
	}
	for _, k := range []error{vendors.ErrNotFound, vendors.ErrNoPermission, vendors.ErrBadRequest, vendors.ErrUnauthorized,
		vendors.ErrRateLimited, vendors.ErrTransient, vendors.ErrUnknownOutcome, vendors.ErrUnsupported, vendors.ErrVendor} {
		if !seen[k] {
			t.Errorf("kind %v not forced", k)
		}
	}
}

// renderings are the ways an error may be printed or inspected.
func renderings(err error) []string {
	var out []string
	for e := err; e != nil; e = errors.Unwrap(e) {
		out = append(out, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		var ve *vendors.Error
		if errors.As(e, &ve) {
			out = append(out, ve.Message, ve.Code)
		}
	}
	return out
}

func noSleep(context.Context, time.Duration) error { return nil }

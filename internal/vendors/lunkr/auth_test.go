package lunkr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

const (
	testClientID = "lk-app-1"
	testSecret   = "LK-s3cr3t+/=Wq"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type authEnv struct {
	sim   *Simulator
	srv   *httptest.Server
	clock *clock
	ts    *vendors.TokenSource
	c     *Client
}

// newAuthEnv serves the simulator under /api/, as the vendor's base is, so
// that the token endpoint is at the origin, outside it.
func newAuthEnv(t *testing.T, secret string, lifetime time.Duration) *authEnv {
	t.Helper()
	e := &authEnv{sim: NewSimulator(), clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	e.sim.SetAuth(testClientID, testSecret, lifetime)
	e.sim.SetNow(e.clock.Now)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	base := e.srv.URL + "/api/"
	e.ts = vendors.AuthToken("coremail", Auth, base, vendors.Credentials{"clientId": testClientID, "clientSecret": secret})
	e.ts.Now = e.clock.Now
	e.c = New(&vendors.Transport{BaseURL: base, HTTP: vendors.NewHTTPClient(5 * time.Second), Token: e.ts, MaxAttempts: 3,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	return e
}

func TestAuthFetchesOncePerLifetime(t *testing.T) {
	e := newAuthEnv(t, testSecret, 100*time.Second)
	id := e.sim.SeedGroup(vendors.Group{Name: "g", Type: TypeTopic, Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
	ctx := context.Background()
	// Three lifetimes less the renewal margin (10 s), a read every 10 s.
	for step := 0; step < 27; step++ {
		if _, err := e.c.ReadGroup(ctx, id, ""); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		e.clock.Add(10 * time.Second)
	}
	if c := e.sim.Calls(); c[CallToken] != 3 || c[CallInfo] != 27 {
		t.Fatalf("calls %v: want 3 token fetches and 27 reads, none refused", c)
	}
}

func TestAuthExpiredAndRevokedTokens(t *testing.T) {
	e := newAuthEnv(t, testSecret, time.Hour)
	ctx := context.Background()
	tok, err := e.ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A token past its lifetime is answered 10002.
	e.clock.Add(2 * time.Hour)
	stale := New(&vendors.Transport{BaseURL: e.srv.URL + "/api/", Token: vendors.StaticToken("coremail", tok)})
	_, err = stale.ReadGroup(ctx, "10000", "")
	var ve *vendors.Error
	if !errors.As(err, &ve) || ve.Code != CodeInvalidToken {
		t.Fatalf("expired token: %v, want code 10002", err)
	}
	// A revoked token is refetched once and the call retried.
	id := e.sim.SeedGroup(vendors.Group{Name: "g", Type: TypeTopic, Members: []vendors.LiveMember{{Email: "alice@example.com"}}})
	if _, err := e.c.ReadGroup(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	e.sim.RevokeTokens()
	if _, err := e.c.ReadGroup(ctx, id, ""); err != nil {
		t.Fatal(err)
	}
	if c := e.sim.Calls(); c[CallToken] != 3 {
		t.Fatalf("calls %v: want 3 token fetches (first, after expiry, after revocation)", c)
	}
}

func TestAuthWrongSecret(t *testing.T) {
	e := newAuthEnv(t, "wrong-secret", time.Hour)
	ctx := context.Background()
	for range 40 {
		if _, err := e.c.ReadGroup(ctx, "10000", ""); !errors.Is(err, vendors.ErrUnauthorized) {
			t.Fatalf("%v, want unauthorized", err)
		}
	}
	_, err := e.ts.Token(ctx)
	if !errors.Is(err, vendors.ErrBadCredentials) || !strings.Contains(err.Error(), "provider coremail") {
		t.Fatalf("%v, want bad credentials of provider coremail", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("secret in %q", err)
	}
	if c := e.sim.Calls(); c[CallToken] != 1 || c[CallInfo] != 0 {
		t.Fatalf("calls %v: want one token fetch and no group call", c)
	}
}

func TestTokenURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.lunkr.cn/api/":        "https://api.lunkr.cn/oauth/accessToken",
		"http://127.0.0.1:8080/lunkr/api/": "http://127.0.0.1:8080/oauth/accessToken",
	} {
		if got, err := TokenURL(in); err != nil || got != want {
			t.Errorf("TokenURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSimTokenEndpointChecks(t *testing.T) {
	sim := NewSimulator()
	sim.SetAuth(testClientID, testSecret, time.Hour)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for _, tc := range []struct {
		name, method, query string
		status              int
	}{
		{"GET ok", http.MethodGet, "client_id=lk-app-1&client_secret=" + strings.ReplaceAll(testSecret, "+", "%2B") + "&grant_type=client_credentials", 200},
		{"wrong secret", http.MethodPost, "client_id=lk-app-1&client_secret=x&grant_type=client_credentials", 401},
		{"wrong grant", http.MethodPost, "client_id=lk-app-1&client_secret=x&grant_type=password", 400},
		{"DELETE", http.MethodDelete, "", 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+"/oauth/accessToken?"+strings.ReplaceAll(tc.query, "/", "%2F"), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: HTTP %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
}

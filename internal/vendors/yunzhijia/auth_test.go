package yunzhijia

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

const (
	testEID    = "10109"
	testSecret = "IM-s3cr3t+/=Yq"
)

// clock is a settable clock shared by a token source and a simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// authEnv is a client whose token comes from the simulator's token
// endpoint, over real HTTP, on a shared fake clock.
type authEnv struct {
	sim   *Simulator
	srv   *httptest.Server
	clock *clock
	ts    *vendors.TokenSource
	c     *Client
}

func newAuthEnv(t *testing.T, secret string, lifetime time.Duration) *authEnv {
	t.Helper()
	e := &authEnv{sim: NewSimulator(), clock: newClock()}
	e.sim.SetAuth(testEID, testSecret, lifetime)
	e.sim.SetNow(e.clock.Now)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	e.ts = vendors.AuthToken("kingdee", Auth, e.srv.URL+"/gateway/", vendors.Credentials{"eid": testEID, "secret": secret})
	e.ts.Now = e.clock.Now
	e.c = New(newTransport(e.srv.URL+"/gateway/", e.ts, noSleep))
	return e
}

func (e *authEnv) fetches() int {
	c := e.sim.Calls()
	return c[CallGetToken] + c[CallRefreshToken]
}

func TestAuthFetchesOncePerLifetime(t *testing.T) {
	e := newAuthEnv(t, testSecret, 100*time.Second)
	e.sim.SeedGroup(vendors.Group{ID: gid, Managers: []string{alice}, Members: []vendors.LiveMember{{ID: alice}}})
	ctx := context.Background()
	// Three lifetimes less the renewal margin (a tenth of 100 s): a call
	// every 10 s, 8 callers at a time.
	for step := 0; step < 27; step++ {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.c.ReadGroup(ctx, gid, alice)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		e.clock.Add(10 * time.Second)
	}
	if n := e.fetches(); n != 3 {
		t.Fatalf("%d token fetches over three lifetimes, want 3 (calls %v)", n, e.sim.Calls())
	}
	// Renewals used the refresh token, and no call was refused.
	if c := e.sim.Calls(); c[CallGetToken] != 1 || c[CallGroupUsers] != 27*8 {
		t.Fatalf("calls %v: want 1 getAccessToken, 2 refreshToken, 216 groupUsers", c)
	}
}

func TestAuthExpiredTokenRefused(t *testing.T) {
	e := newAuthEnv(t, testSecret, time.Minute)
	ctx := context.Background()
	tok, err := e.ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	// The token, used past its lifetime, is refused as the vendor would.
	stale := New(newTransport(e.srv.URL+"/", vendors.StaticToken("kingdee", tok), noSleep))
	_, err = stale.ReadGroup(ctx, gid, alice)
	var ve *vendors.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendors.ErrUnauthorized) || ve.Code != "401" {
		t.Fatalf("expired token: %v, want unauthorized with errorCode 401", err)
	}
}

func TestAuthWrongSecretOneFetch(t *testing.T) {
	e := newAuthEnv(t, "wrong-secret", time.Hour)
	ctx := context.Background()
	var first error
	for i := range 40 {
		_, err := e.c.ReadGroup(ctx, gid, alice)
		if !errors.Is(err, vendors.ErrUnauthorized) {
			t.Fatalf("read %d: %v, want unauthorized", i, err)
		}
		if i == 0 {
			first = err
		} else if err.Error() != first.Error() {
			t.Fatalf("read %d: %q, want the first error %q", i, err, first)
		}
	}
	if n := e.fetches(); n != 1 {
		t.Fatalf("%d fetches for 40 calls, want 1", n)
	}
	_, err := e.ts.Token(ctx)
	var te *vendors.TokenError
	if !errors.As(err, &te) || !errors.Is(err, vendors.ErrBadCredentials) || te.Provider != "kingdee" {
		t.Fatalf("token error %v, want a TokenError of kingdee for bad credentials", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("secret in %q", err)
	}
	// Reset lets a later run try again.
	e.ts.Reset()
	_, _ = e.ts.Token(ctx)
	if n := e.fetches(); n != 2 {
		t.Fatalf("%d fetches after Reset, want 2", n)
	}
}

func TestAuthClockSkew(t *testing.T) {
	e := newAuthEnv(t, testSecret, time.Hour)
	e.sim.SetNow(time.Now) // the vendor's clock is right; ours is the fake one, far off
	_, err := e.ts.Token(context.Background())
	if !errors.Is(err, vendors.ErrClockSkew) {
		t.Fatalf("%v, want clock skew", err)
	}
	if !strings.Contains(err.Error(), "provider kingdee") || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("%q should name the provider and the clock", err)
	}
}

func TestAuthUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/"
	srv.Close()
	ts := vendors.AuthToken("kingdee", Auth, url, vendors.Credentials{"eid": testEID, "secret": testSecret})
	_, err := ts.Token(context.Background())
	if !errors.Is(err, vendors.ErrTransient) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("%v, want unreachable", err)
	}
}

// TestAuthRequestWireFormat checks the fetch's request as the vendor's page
// gives it: POST JSON {eid, secret, timestamp in milliseconds, scope}.
func TestAuthRequestWireFormat(t *testing.T) {
	c := newClock()
	var got map[string]any
	var method, ctype, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ctype, path = r.Method, r.Header.Get("Content-Type"), r.URL.Path
		b, _ := io.ReadAll(r.Body)
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		_ = d.Decode(&got)
		io.WriteString(w, `{"success":true,"errorCode":0,"error":null,"data":{"accessToken":"0123456789abcdef0123456789abcdef","expireIn":7200,"refreshToken":"r1"}}`)
	}))
	defer srv.Close()
	ts := vendors.AuthToken("kingdee", Auth, srv.URL+"/gateway/", vendors.Credentials{"eid": testEID, "secret": testSecret})
	ts.Now = c.Now
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if method != http.MethodPost || ctype != "application/json" || path != "/gateway/oauth2/token/getAccessToken" {
		t.Fatalf("%s %s (%s), want POST /gateway/oauth2/token/getAccessToken (application/json)", method, path, ctype)
	}
	want := map[string]any{"eid": testEID, "secret": testSecret, "timestamp": json.Number("1772355600000"), "scope": "resGroupSecret"}
	if len(got) != len(want) {
		t.Fatalf("body %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("body %v, want %v", got, want)
		}
	}
}

// TestSimTokenEndpointChecks: the simulator refuses what the vendor would.
func TestSimTokenEndpointChecks(t *testing.T) {
	sim := NewSimulator()
	sim.SetAuth(testEID, testSecret, time.Hour)
	srv := httptest.NewServer(sim)
	defer srv.Close()
	now := time.Now()
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"seconds, not milliseconds", `{"eid":"10109","secret":"` + testSecret + `","timestamp":` + itoa(now.Unix()) + `,"scope":"resGroupSecret"}`, CodeBadParam},
		{"four minutes old", `{"eid":"10109","secret":"` + testSecret + `","timestamp":` + itoa(now.Add(-4*time.Minute).UnixMilli()) + `,"scope":"resGroupSecret"}`, CodeBadParam},
		{"wrong secret", `{"eid":"10109","secret":"nope","timestamp":` + itoa(now.UnixMilli()) + `,"scope":"resGroupSecret"}`, CodeAuthRefused},
		{"unknown eid", `{"eid":"1","secret":"` + testSecret + `","timestamp":` + itoa(now.UnixMilli()) + `,"scope":"resGroupSecret"}`, CodeAuthRefused},
		{"other scope", `{"eid":"10109","secret":"` + testSecret + `","timestamp":` + itoa(now.UnixMilli()) + `,"scope":"app"}`, CodeBadParam},
		{"ok", `{"eid":"10109","secret":"` + testSecret + `","timestamp":` + itoa(now.UnixMilli()) + `,"scope":"resGroupSecret"}`, CodeOK},
	} {
		resp, err := http.Post(srv.URL+"/gateway/oauth2/token/getAccessToken", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			Success   bool `json:"success"`
			ErrorCode int  `json:"errorCode"`
			Data      *tokenData
		}
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if a.ErrorCode != tc.code || a.Success != (tc.code == CodeOK) {
			t.Errorf("%s: errorCode %d success %v, want %d", tc.name, a.ErrorCode, a.Success, tc.code)
		}
		if tc.code == CodeOK && (a.Data == nil || len(a.Data.AccessToken) != 32 || a.Data.ExpireIn != 3600) {
			t.Errorf("%s: data %+v, want a 32-character token living 3600 s", tc.name, a.Data)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

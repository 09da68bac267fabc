package lunkr

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

const testToken = "tok-LUNKR-7f3a9c1e"

// fixedNow is the createTime of the vendor page's example.
var fixedNow = time.UnixMilli(1538969841000)

// harness is a client talking over real HTTP to a handler (usually a
// Simulator), with the transport's waits recorded instead of slept.
type harness struct {
	sim    *Simulator // nil when the handler is a stub
	srv    *httptest.Server
	tr     *vendors.Transport
	client *Client

	mu    sync.Mutex
	waits []time.Duration
}

// newHarness serves a fresh simulator accepting testToken.
func newHarness(t *testing.T) *harness {
	t.Helper()
	sim := NewSimulator(testToken)
	sim.SetNow(func() time.Time { return fixedNow })
	h := serve(t, sim, vendors.StaticToken("test", testToken))
	h.sim = sim
	return h
}

// serve runs handler on an httptest server and points a client at it.
func serve(t *testing.T, handler http.Handler, ts *vendors.TokenSource) *harness {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	h := &harness{srv: srv}
	h.tr = &vendors.Transport{
		BaseURL:     srv.URL + "/",
		HTTP:        vendors.NewHTTPClient(5 * time.Second),
		Token:       ts,
		BackoffBase: 10 * time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.waits = append(h.waits, d)
			return nil
		},
	}
	h.client = New(h.tr)
	return h
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func (h *harness) calls(call string) int { return h.sim.Calls()[call] }

// vendorError asserts err is a *vendors.Error of kind and returns it.
func vendorError(t *testing.T, err error, kind error) *vendors.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %q is not %v", err, kind)
	}
	var ve *vendors.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %q is not a *vendors.Error", err)
	}
	if ve.Vendor != Vendor {
		t.Errorf("error vendor = %q, want %q", ve.Vendor, Vendor)
	}
	return ve
}

func members(ids ...string) []vendors.LiveMember {
	out := make([]vendors.LiveMember, 0, len(ids))
	for _, id := range ids {
		if IsUID(id) {
			out = append(out, vendors.LiveMember{ID: id})
		} else {
			out = append(out, vendors.LiveMember{Email: id})
		}
	}
	return out
}

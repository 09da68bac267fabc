package lunkr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groupsync/internal/vendors"
)

func seedOne(h *harness) string {
	return h.sim.SeedGroup(vendors.Group{Name: "g", Members: members("a@example.com")})
}

func TestReadRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(s *Simulator)
		// wantWait checks each recorded wait.
		wantWait func(time.Duration) bool
		call     func(h *harness, id string) error
		callName string
	}{
		{
			name:     "list 503",
			setup:    func(s *Simulator) { s.RejectNext(CallList, http.StatusServiceUnavailable, 2) },
			wantWait: func(d time.Duration) bool { return d == time.Second },
			call: func(h *harness, _ string) error {
				_, err := h.client.ListGroups(ctx, "a@example.com")
				return err
			},
			callName: CallList,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			id := seedOne(h)
			tt.setup(h.sim)
			if err := tt.call(h, id); err != nil {
				t.Fatalf("got %v, want success after retries", err)
			}
			if n := h.calls(tt.callName); n != 3 {
				t.Errorf("attempts = %d, want 3", n)
			}
			waits := h.recordedWaits()
			if len(waits) != 2 {
				t.Fatalf("waits = %v, want 2", waits)
			}
			for _, w := range waits {
				if !tt.wantWait(w) {
					t.Errorf("wait %v out of range (all: %v)", w, waits)
				}
			}
		})
	}
}

func readCall(h *harness, id string) error {
	_, err := h.client.ReadGroup(context.Background(), id, "")
	return err
}

func TestCreateUnreadableAnswerIsUnknownOutcome(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	h := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		_, _ = w.Write([]byte(`{"code":"10000","var":{}}`))
	}), vendors.StaticToken("test", testToken))
	_, err := h.client.CreateGroup(context.Background(), vendors.CreateRequest{Name: "g", Members: []string{"a@example.com"}})
	vendorError(t, err, vendors.ErrUnknownOutcome)
	if calls != 1 {
		t.Errorf("create attempts = %d, want 1", calls)
	}
}

// fakeTokenCommand hands out tokens in turn, then repeats the last.
type fakeTokenCommand struct {
	mu     sync.Mutex
	tokens []string
	runs   int
}

func (f *fakeTokenCommand) run(ctx context.Context, argv []string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tok := f.tokens[min(f.runs, len(f.tokens)-1)]
	f.runs++
	return []byte(tok + "\n"), nil
}

func TestTokenCommandRefreshedOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tokens   []string
		httpAuth bool // refuse with HTTP 401 instead of code 10002
		wantErr  bool
	}{
		{name: "code 10002 then fresh token", tokens: []string{"stale-token", "fresh-token"}},
		{name: "HTTP 401 then fresh token", tokens: []string{"stale-token", "fresh-token"}, httpAuth: true},
		{name: "refreshed token refused too", tokens: []string{"stale-token", "still-stale"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := NewSimulator("fresh-token")
			var handler http.Handler = sim
			var refused atomic.Int32 // answered 401 by the wrapper
			if tc.httpAuth {
				handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("accessToken") != "fresh-token" {
						refused.Add(1)
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					sim.ServeHTTP(w, r)
				})
			}
			fake := &fakeTokenCommand{tokens: tc.tokens}
			ts := vendors.CommandToken("coremail", []string{"/usr/local/bin/lunkr-token"})
			ts.Run = fake.run
			h := serve(t, handler, ts)
			id := sim.SeedGroup(vendors.Group{Name: "g", Members: members("a@example.com")})

			_, err := h.client.ReadGroup(context.Background(), id, "")
			if tc.wantErr {
				vendorError(t, err, vendors.ErrUnauthorized)
			} else if err != nil {
				t.Fatal(err)
			}
			if fake.runs != 2 {
				t.Errorf("token command runs = %d, want 2 (start, one refresh)", fake.runs)
			}
			if n := sim.Calls()[CallInfo] + int(refused.Load()); n != 2 {
				t.Errorf("groups/info attempts = %d, want 2", n)
			}
			if err != nil && (strings.Contains(err.Error(), "stale-token") || strings.Contains(err.Error(), "still-stale")) {
				t.Errorf("error leaks a token: %v", err)
			}
		})
	}
}

func TestCancelledWaitStopsRetries(t *testing.T) {
	h := newHarness(t)
	id := seedOne(h)
	h.sim.SetFaults(Faults{Status503Rate: 1})
	h.tr.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
	err := readCall(h, id)
	if !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("got %v, want the last attempt's ErrTransient", err)
	}
	if n := h.calls(CallInfo); n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

// Code 10008 ("over the limit") is rate limiting: the call was refused, not
// made, so a read and a create alike are retried with backoff, and a create
// is made once.
func TestRateLimitCodeRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		call string
		do   func(h *harness, id string) error
	}{
		{"read", CallInfo, readCall},
		{"create", CallCreate, func(h *harness, _ string) error {
			_, err := h.client.CreateGroup(context.Background(), vendors.CreateRequest{Name: "new", Members: []string{"a@example.com"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			id := seedOne(h)
			h.sim.ForceCode(tc.call, CodeRateLimited, 2)
			if err := tc.do(h, id); err != nil {
				t.Fatalf("got %v, want success after retries", err)
			}
			if n := h.calls(tc.call); n != 3 {
				t.Errorf("attempts = %d, want 3", n)
			}
			waits := h.recordedWaits()
			if len(waits) != 2 || waits[0] <= 0 || waits[1] <= 0 {
				t.Errorf("waits = %v, want 2 backoffs", waits)
			}
			if tc.call == CallCreate && len(h.sim.Groups()) != 2 {
				t.Errorf("groups = %d, want the seeded one and one created", len(h.sim.Groups()))
			}
		})
	}
}

// 10008 on every attempt gives up after MaxAttempts with ErrRateLimited,
// naming the code.
func TestRateLimitCodeGivesUp(t *testing.T) {
	h := newHarness(t)
	h.tr.MaxAttempts = 3
	id := seedOne(h)
	h.sim.ForceCode(CallInfo, CodeRateLimited, 100)
	err := readCall(h, id)
	vendorError(t, err, vendors.ErrRateLimited)
	if !strings.Contains(err.Error(), "code 10008") {
		t.Errorf("error %q does not name the code", err)
	}
	if n := h.calls(CallInfo); n != 3 {
		t.Errorf("attempts = %d, want MaxAttempts 3", n)
	}
}
